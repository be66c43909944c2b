//! sea-orm's view of the tables the migrations create. The migrations are the source of truth
//! for the schema; these only say how rows map to Rust and how tables join.

pub mod users {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub username: String,
        pub password_hash: String,
        pub user_key: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod snacks {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "snacks")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub name: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(has_many = "super::drawer_snacks::Entity")]
        DrawerSnacks,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod drawers {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "drawers")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub owner_id: i64,
        pub name: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Which snack is in which drawer: one row per (drawer, snack), the pair being the key.
pub mod drawer_snacks {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "drawer_snacks")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub drawer_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub snack_id: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(
            belongs_to = "super::snacks::Entity",
            from = "Column::SnackId",
            to = "super::snacks::Column::Id"
        )]
        Snack,
    }

    impl Related<super::snacks::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Snack.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}
