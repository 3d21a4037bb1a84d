//! The closed string sets of the ECS API, spelled exactly as the API spells them.

/// Defines a `#[non_exhaustive]` enum serialized as the API's exact strings, with
/// `as_str`, `Display` and `FromStr`.
macro_rules! api_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
                 serde::Serialize, serde::Deserialize)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// Every value, in the API's order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The API's spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::Error;
            fn from_str(s: &str) -> Result<Self, crate::Error> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(crate::Error::UnknownValue {
                        kind: stringify!($name),
                        value: s.to_owned(),
                        expected: &[$($text,)+],
                    }),
                }
            }
        }
    };
}
pub(crate) use api_enum;

api_enum!(
    /// How the task's containers are networked (`networkMode`).
    NetworkMode {
        /// Docker's default bridge; host ports are published (or dynamic when 0 or absent).
        Bridge = "bridge",
        /// The host's network stack: container ports are host ports.
        Host = "host",
        /// An elastic network interface per task (AWS only).
        Awsvpc = "awsvpc",
        /// No external networking.
        None = "none",
    }
);

api_enum!(
    /// A launch type a task definition is validated against (`requiresCompatibilities`).
    Compatibility {
        /// Container instances the user manages.
        Ec2 = "EC2",
        /// AWS Fargate (AWS only).
        Fargate = "FARGATE",
        /// ECS Anywhere: external instances.
        External = "EXTERNAL",
        /// ECS Managed Instances (AWS only).
        ManagedInstances = "MANAGED_INSTANCES",
    }
);

api_enum!(
    /// The process namespace the containers use (`pidMode`).
    PidMode {
        /// The host's PID namespace.
        Host = "host",
        /// One PID namespace shared by the task's containers.
        Task = "task",
    }
);

api_enum!(
    /// The IPC namespace the containers use (`ipcMode`).
    IpcMode {
        /// The host's IPC namespace.
        Host = "host",
        /// One IPC namespace shared by the task's containers.
        Task = "task",
        /// Private IPC, not shareable.
        None = "none",
    }
);

api_enum!(
    /// Whether a task definition revision may be used for new tasks.
    TaskDefinitionStatus {
        /// Usable for new tasks and services.
        Active = "ACTIVE",
        /// Deregistered: still describable, no longer usable for new tasks.
        Inactive = "INACTIVE",
        /// Deletion was requested.
        DeleteInProgress = "DELETE_IN_PROGRESS",
    }
);

api_enum!(
    /// A port mapping's transport protocol.
    TransportProtocol {
        /// TCP (the default).
        Tcp = "tcp",
        /// UDP.
        Udp = "udp",
    }
);

api_enum!(
    /// The application protocol a named port speaks (Service Connect).
    ApplicationProtocol {
        /// HTTP/1.1.
        Http = "http",
        /// HTTP/2.
        Http2 = "http2",
        /// gRPC.
        Grpc = "grpc",
    }
);

api_enum!(
    /// What a container waits for in the container it depends on (`dependsOn[].condition`).
    ContainerCondition {
        /// The dependency has started.
        Start = "START",
        /// The dependency has exited, with any code.
        Complete = "COMPLETE",
        /// The dependency has exited with code 0.
        Success = "SUCCESS",
        /// The dependency's health check passes.
        Healthy = "HEALTHY",
    }
);

api_enum!(
    /// Whether the image tag is resolved to a digest once per deployment.
    VersionConsistency {
        /// Resolve and pin the digest.
        Enabled = "enabled",
        /// Use the tag as is.
        Disabled = "disabled",
    }
);

api_enum!(
    /// A resource limit name (`ulimits[].name`).
    UlimitName {
        /// Core file size.
        Core = "core",
        /// CPU time.
        Cpu = "cpu",
        /// Data segment size.
        Data = "data",
        /// File size.
        Fsize = "fsize",
        /// File locks.
        Locks = "locks",
        /// Locked memory.
        Memlock = "memlock",
        /// POSIX message queue bytes.
        Msgqueue = "msgqueue",
        /// Nice priority.
        Nice = "nice",
        /// Open files.
        Nofile = "nofile",
        /// Processes.
        Nproc = "nproc",
        /// Resident set size.
        Rss = "rss",
        /// Real-time priority.
        Rtprio = "rtprio",
        /// Real-time CPU time.
        Rttime = "rttime",
        /// Pending signals.
        Sigpending = "sigpending",
        /// Stack size.
        Stack = "stack",
    }
);

api_enum!(
    /// A container log driver (`logConfiguration.logDriver`).
    LogDriver {
        /// Docker's JSON file logs.
        JsonFile = "json-file",
        /// Syslog.
        Syslog = "syslog",
        /// systemd's journal.
        Journald = "journald",
        /// Graylog Extended Log Format.
        Gelf = "gelf",
        /// Fluentd.
        Fluentd = "fluentd",
        /// Amazon CloudWatch Logs (AWS only).
        Awslogs = "awslogs",
        /// Splunk.
        Splunk = "splunk",
        /// FireLens log routing (AWS only).
        Awsfirelens = "awsfirelens",
        /// Docker's compact local file format. Not among the drivers ECS's API lists:
        /// accepted here with a warning, for definitions written for a local engine.
        Local = "local",
    }
);

api_enum!(
    /// A special resource a container asks for (`resourceRequirements[].type`).
    ResourceType {
        /// GPUs, by count.
        Gpu = "GPU",
        /// Elastic Inference accelerators (AWS only).
        InferenceAccelerator = "InferenceAccelerator",
        /// AWS Neuron devices (AWS only).
        NeuronDevice = "NeuronDevice",
    }
);

api_enum!(
    /// The log router a FireLens container runs.
    FirelensConfigurationType {
        /// Fluentd.
        Fluentd = "fluentd",
        /// Fluent Bit.
        Fluentbit = "fluentbit",
    }
);

api_enum!(
    /// The lifetime of a Docker volume (`dockerVolumeConfiguration.scope`).
    Scope {
        /// Created when the task starts, removed when it stops.
        Task = "task",
        /// Persists after the task stops.
        Shared = "shared",
    }
);

api_enum!(
    /// Whether a setting is on (`ENABLED`) or off (`DISABLED`), as EFS spells it.
    EnabledDisabled {
        /// On.
        Enabled = "ENABLED",
        /// Off.
        Disabled = "DISABLED",
    }
);

api_enum!(
    /// A device access permission (`linuxParameters.devices[].permissions`).
    DeviceCgroupPermission {
        /// Read.
        Read = "read",
        /// Write.
        Write = "write",
        /// Create device nodes.
        Mknod = "mknod",
    }
);

api_enum!(
    /// Where an environment file lives.
    EnvironmentFileType {
        /// An Amazon S3 object (AWS only).
        S3 = "s3",
    }
);

api_enum!(
    /// A CPU architecture (`runtimePlatform.cpuArchitecture`).
    CpuArchitecture {
        /// x86-64.
        X86_64 = "X86_64",
        /// 64-bit ARM.
        Arm64 = "ARM64",
    }
);

api_enum!(
    /// An operating system family (`runtimePlatform.operatingSystemFamily`).
    OsFamily {
        /// Windows Server 2019 Full.
        WindowsServer2019Full = "WINDOWS_SERVER_2019_FULL",
        /// Windows Server 2019 Core.
        WindowsServer2019Core = "WINDOWS_SERVER_2019_CORE",
        /// Windows Server 2016 Full.
        WindowsServer2016Full = "WINDOWS_SERVER_2016_FULL",
        /// Windows Server 2004 Core.
        WindowsServer2004Core = "WINDOWS_SERVER_2004_CORE",
        /// Windows Server 2022 Core.
        WindowsServer2022Core = "WINDOWS_SERVER_2022_CORE",
        /// Windows Server 2022 Full.
        WindowsServer2022Full = "WINDOWS_SERVER_2022_FULL",
        /// Windows Server 2025 Core.
        WindowsServer2025Core = "WINDOWS_SERVER_2025_CORE",
        /// Windows Server 2025 Full.
        WindowsServer2025Full = "WINDOWS_SERVER_2025_FULL",
        /// Windows Server 20H2 Core.
        WindowsServer20H2Core = "WINDOWS_SERVER_20H2_CORE",
        /// Linux.
        Linux = "LINUX",
    }
);

impl OsFamily {
    /// Whether this is a Windows family.
    pub fn is_windows(self) -> bool {
        self != OsFamily::Linux
    }
}

api_enum!(
    /// The isolation a trusted-execution task asks for (AWS only).
    IsolationMode {
        /// Shared.
        Shared = "SHARED",
        /// An isolated sandbox.
        IsolatedSandbox = "ISOLATED_SANDBOX",
        /// A confidential sandbox.
        ConfidentialSandbox = "CONFIDENTIAL_SANDBOX",
    }
);

api_enum!(
    /// The kind of proxy a task's network traffic goes through.
    ProxyConfigurationType {
        /// AWS App Mesh (AWS only).
        Appmesh = "APPMESH",
    }
);

api_enum!(
    /// The kind of a task-definition placement constraint.
    TaskDefinitionPlacementConstraintType {
        /// Place only on instances matching a cluster query expression.
        MemberOf = "memberOf",
    }
);

api_enum!(
    /// What an attribute is attached to.
    TargetType {
        /// A container instance.
        ContainerInstance = "container-instance",
    }
);
