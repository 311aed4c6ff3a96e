//! Generated code for Opeka's gRPC contracts and events.
//! Contracts live in `opeka/<service>/v1`; field numbers are never reused.

pub mod opeka {
    pub mod identity {
        pub mod v1 {
            tonic::include_proto!("opeka.identity.v1");
        }
    }
    pub mod files {
        pub mod v1 {
            tonic::include_proto!("opeka.files.v1");
        }
    }
    pub mod cases {
        pub mod v1 {
            tonic::include_proto!("opeka.cases.v1");
        }
    }
    pub mod notifications {
        pub mod v1 {
            tonic::include_proto!("opeka.notifications.v1");
        }
    }
    pub mod scheduler {
        pub mod v1 {
            tonic::include_proto!("opeka.scheduler.v1");
        }
    }
    pub mod events {
        pub mod v1 {
            tonic::include_proto!("opeka.events.v1");
        }
    }
}

pub use opeka::cases::v1 as cases;
pub use opeka::events::v1 as events;
pub use opeka::files::v1 as files;
pub use opeka::identity::v1 as identity;
pub use opeka::notifications::v1 as notifications;
pub use opeka::scheduler::v1 as scheduler;

/// Encoded `FileDescriptorSet` of every contract, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("opeka_descriptor");
