# Sorts `perf script -F comm,ip,sym` samples into kinds of work (see benches/profile.sh). A sample
# is a line naming its thread, then its frames, innermost first, then a blank line. Its kind is
# that of the innermost frame matching one of the patterns below, tried in order; kernel entry
# and runtime glue match none and are looked through.
function kind_of(frame) {
  if (frame ~ /futex|schedule|switch_to|finish_task_switch|try_to_wake_up|wake_up_q|ttwu|pick_next|dequeue_task|enqueue_task|park|unpark|condvar|Condvar|select_idle|idle/) return "thread wake-ups and switches (any thread)"
  if (frame ~ /^sqlite3|^btree|^pager|^sqlite/) return "SQLite itself"
  if (frame ~ /flume|crossbeam|mpsc|oneshot/) return "thread wake-ups and switches (any thread)"
  if (frame ~ /sqlx|sea_orm|sea_query/) return "sea-orm and sqlx (statements, rows)"
  if (frame ~ /json_subscriber|tracing_subscriber|access_line|tracing_core|tracing::/) return "logging and tracing"
  if (frame ~ /telemetry::metrics|prometheus_client|ServingRequest|RouteMetrics/) return "metrics"
  if (frame ~ /malloc|free|realloc|calloc|je_|jemalloc|_rjem_|cfree|arena|tcache/) return "allocation"
  if (frame ~ /^tcp_|sock|skb|^ip_|^__dev|net_rx|loopback|epoll|ep_poll|^__sys_|sendmsg|recvmsg|writev|readv|hyper|mio::/) return "hyper and the socket"
  if (frame ~ /serde_json|serde::/) return "JSON"
  if (frame ~ /quick_cache|adapters::sql::cache/) return "kept reads"
  if (frame ~ /tokio/) return "tokio"
  return ""
}

/^[^ \t]/ { thread = $1; depth = 0; kind = ""; next }
/^[ \t]*$/ { if (thread != "") finish(); thread = ""; next }
{
  frame = $0
  sub(/^[ \t]+[0-9a-f]+ /, "", frame)
  sub(/ \(inlined\)$/, "", frame)
  depth++
  if (depth == 1) innermost = frame
  if (kind == "") kind = kind_of(frame)
}
function finish() {
  samples++
  kinds[kind == "" ? "other" : kind]++
  threads[thread ~ /sqlx|sqlite/ ? "the SQLite driver's thread" : thread ~ /tokio|snackdrawer/ ? "tokio's workers" : thread]++
  hottest[innermost]++
}
END {
  if (thread != "") finish()
  if (samples == 0) { print "no samples: is perf allowed to sample this process?"; exit 1 }
  printf "%d samples\n\nby kind of work:\n", samples
  for (k in kinds) printf "  %5.1f %%  %s\n", 100 * kinds[k] / samples, k | "sort -rn"
  close("sort -rn")
  print "\nby thread:"
  for (t in threads) printf "  %5.1f %%  %s\n", 100 * threads[t] / samples, t | "sort -rn"
  close("sort -rn")
  print "\nhottest functions (innermost frame):"
  for (f in hottest) printf "  %5.1f %%  %s\n", 100 * hottest[f] / samples, substr(f, 1, 110) | "sort -rn | head -15"
  close("sort -rn | head -15")
}
