-- wrk script: every request logs the same user in (POST /auth/login).
-- The user is registered by http-latency.sh before the run.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"username": "bench", "password": "bench password"}'
