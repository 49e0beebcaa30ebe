// swift-tools-version:6.2
import PackageDescription

// Dependencies are named once; targets refer to these constants.
let nioCore: Target.Dependency = .product(name: "NIOCore", package: "swift-nio")
let nioPosix: Target.Dependency = .product(name: "NIOPosix", package: "swift-nio")
let nioSSL: Target.Dependency = .product(name: "NIOSSL", package: "swift-nio-ssl")
let nioTLS: Target.Dependency = .product(name: "NIOTLS", package: "swift-nio")
let swiftProtobuf: Target.Dependency = .product(name: "SwiftProtobuf", package: "swift-protobuf")
let realModule: Target.Dependency = .product(name: "RealModule", package: "swift-numerics")
let grdb: Target.Dependency = .product(name: "GRDB", package: "GRDB.swift")
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let serviceLifecycle: Target.Dependency = .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")
let unixSignals: Target.Dependency = .product(name: "UnixSignals", package: "swift-service-lifecycle")
let x509: Target.Dependency = .product(name: "X509", package: "swift-certificates")
let swiftASN1: Target.Dependency = .product(name: "SwiftASN1", package: "swift-asn1")
let crypto: Target.Dependency = .product(name: "Crypto", package: "swift-crypto")
let nioHTTP1: Target.Dependency = .product(name: "NIOHTTP1", package: "swift-nio")
let grpcCore: Target.Dependency = .product(name: "GRPCCore", package: "grpc-swift-2")
let grpcProtobuf: Target.Dependency = .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf")
let grpcHTTP2: Target.Dependency = .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport")
let hummingbird: Target.Dependency = .product(name: "Hummingbird", package: "hummingbird")
let hummingbirdCore: Target.Dependency = .product(name: "HummingbirdCore", package: "hummingbird")
let nioHTTPTypes: Target.Dependency = .product(name: "NIOHTTPTypes", package: "swift-nio-extras")
let hummingbirdTesting: Target.Dependency = .product(name: "HummingbirdTesting", package: "hummingbird")
let hummingbirdBcrypt: Target.Dependency = .product(name: "HummingbirdBcrypt", package: "hummingbird-auth")
let postgresNIO: Target.Dependency = .product(name: "PostgresNIO", package: "postgres-nio")
let asyncHTTPClient: Target.Dependency = .product(name: "AsyncHTTPClient", package: "async-http-client")

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "StreamSwarm",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "streamswarm", targets: ["SwarmCLI"]),
        .executable(name: "swarm-gnmi-target", targets: ["SwarmGNMITarget"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-numerics.git", from: "1.1.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        // MARK: - Libraries
        .target(name: "SwarmCore", dependencies: [logging]),
        .target(name: "SwarmProto", dependencies: [swiftProtobuf]),
        // Generated only: the gNMI subset (Proto/gnmi) with gRPC client and server stubs.
        .target(name: "SwarmGNMIProto", dependencies: [swiftProtobuf, grpcCore, grpcProtobuf]),
        // The gNMI collector: TLS to devices, Capabilities/Get/Subscribe, OpenConfig mapping.
        .target(
            name: "SwarmGNMI",
            dependencies: [
                "SwarmCore", "SwarmGNMIProto", grpcCore, grpcProtobuf, grpcHTTP2, nioCore, nioSSL, x509, swiftASN1,
                crypto,
                logging, swiftProtobuf,
            ]
        ),
        .target(name: "SwarmWire", dependencies: ["SwarmCore", "SwarmProto", nioCore, swiftProtobuf]),
        .target(name: "SwarmPKI", dependencies: ["SwarmCore", nioCore, nioSSL, x509, swiftASN1, crypto, logging]),
        // ServiceLifecycle: a backend is a Service whose run() carries its change feed.
        .target(name: "SwarmStore", dependencies: ["SwarmCore", serviceLifecycle]),
        // Pure analytics (device status, path correlation, baselines, change points, Isolation
        // Forest, Holt-Winters, health): arrays in, values out, no I/O. RealModule: log/exp.
        .target(name: "SwarmAnalytics", dependencies: ["SwarmCore", realModule]),
        // Reads a test's history from the store and runs SwarmAnalytics over it (API, CLI, alerts).
        .target(name: "SwarmInsights", dependencies: ["SwarmAnalytics", "SwarmStore", "SwarmWire", "SwarmCore"]),
        .target(
            name: "SwarmAlerting",
            dependencies: [
                "SwarmInsights", "SwarmAnalytics", "SwarmStore", "SwarmCore", asyncHTTPClient, nioCore, nioPosix,
                nioHTTP1, crypto, logging, serviceLifecycle,
            ]
        ),
        // cairo (Debian libcairo2-dev): vector charts and text into PDF for the reports.
        .systemLibrary(name: "CCairo", pkgConfig: "cairo", providers: [.apt(["libcairo2-dev"])]),
        // Reports: reads a period from the store (rollups, alerts, findings) and draws a PDF.
        .target(
            name: "SwarmReports",
            dependencies: [
                "CCairo", "SwarmInsights", "SwarmAnalytics", "SwarmAlerting", "SwarmStore", "SwarmCore", logging,
                serviceLifecycle,
            ]
        ),
        .target(
            name: "SwarmStoreSQLite",
            dependencies: ["SwarmStore", "SwarmCore", grdb, logging, serviceLifecycle]
        ),
        // PostgreSQL: a PostgresClient pool run as a Service; LISTEN/NOTIFY carries the change feed.
        .target(
            name: "SwarmStorePostgres",
            dependencies: ["SwarmStore", "SwarmCore", postgresNIO, nioCore, nioSSL, logging, serviceLifecycle]
        ),
        // zlib: the http probe inflates gzip/deflate bodies to report compressed vs decoded size.
        .target(name: "CSwarmProbes", linkerSettings: [.linkedLibrary("z")]),
        .target(
            name: "SwarmProbes",
            dependencies: ["SwarmCore", "CSwarmProbes", nioCore, nioPosix, nioSSL, nioHTTP1, crypto, logging]
        ),
        .target(
            name: "SwarmServer",
            dependencies: [
                "SwarmCore", "SwarmWire", "SwarmPKI", "SwarmStore", nioCore, nioPosix, nioSSL, nioTLS, logging,
                serviceLifecycle,
            ]
        ),
        .target(
            name: "SwarmAgent",
            dependencies: [
                "SwarmCore", "SwarmWire", "SwarmPKI", "SwarmProbes", "SwarmGNMI", grdb, nioCore, nioPosix, nioSSL,
                logging, serviceLifecycle,
            ]
        ),
        .target(
            name: "SwarmGateway",
            dependencies: [
                "SwarmCore", "SwarmStore", "SwarmAnalytics", "SwarmInsights", "SwarmReports", "SwarmWire", "SwarmPKI",
                hummingbird,
                hummingbirdCore,
                hummingbirdBcrypt,
                crypto,
                logging, nioHTTPTypes,
                serviceLifecycle,
            ],
            resources: [.copy("Resources/ui")]
        ),
        // A simulated gNMI device (grpc-swift-2 server) for tests, the lab and the collector bench.
        .target(
            name: "SwarmGNMISimulator",
            dependencies: ["SwarmGNMI", "SwarmGNMIProto", grpcCore, grpcHTTP2, swiftProtobuf]
        ),
        // `streamswarm bench …`: simulated agents, load generators and their baselines.
        .target(
            name: "SwarmBench",
            dependencies: [
                "SwarmCore", "SwarmWire", "SwarmPKI", "SwarmStore", "SwarmStoreSQLite", "SwarmStorePostgres",
                "SwarmProbes",
                "SwarmServer",
                "SwarmAgent", "SwarmGateway", "SwarmAnalytics", "SwarmReports", "SwarmProto", swiftProtobuf, nioCore, nioPosix, nioSSL,
                crypto, logging,
            ]
        ),

        // MARK: - Executable
        .executableTarget(
            name: "SwarmCLI",
            dependencies: [
                "SwarmCore", "SwarmWire", "SwarmPKI", "SwarmStore", "SwarmStoreSQLite", "SwarmStorePostgres",
                "SwarmProbes", "SwarmServer", "SwarmAgent", "SwarmGateway", "SwarmAnalytics", "SwarmInsights",
                "SwarmAlerting", "SwarmReports", "SwarmBench", "SwarmProto", "SwarmGNMI",
                "SwarmGNMIProto", swiftProtobuf, argumentParser, logging, serviceLifecycle, unixSignals, nioCore,
                nioPosix, nioSSL,
            ]
        ),

        // A test peer: simulated gNMI devices for the lab and the collector bench (no test support linked).
        .executableTarget(name: "SwarmGNMITarget", dependencies: ["SwarmGNMISimulator", argumentParser]),

        // MARK: - Test support
        .target(
            name: "SwarmTestSupport",
            dependencies: [
                "SwarmCore", "SwarmPKI", "SwarmStore", "SwarmStoreSQLite", "SwarmStorePostgres", "SwarmServer",
                "SwarmWire", "SwarmAgent", x509, swiftASN1, crypto, nioCore, nioPosix, nioSSL, nioHTTP1, logging,
                serviceLifecycle,
            ]
        ),

        // MARK: - Tests
        .testTarget(name: "SwarmCoreTests", dependencies: ["SwarmCore"]),
        .testTarget(
            name: "SwarmInsightsTests",
            dependencies: [
                "SwarmInsights", "SwarmAnalytics", "SwarmStore", "SwarmStoreSQLite", "SwarmCore", "SwarmTestSupport",
                "SwarmWire",
            ]
        ),
        .testTarget(
            name: "SwarmReportsTests",
            dependencies: [
                "SwarmReports", "SwarmInsights", "SwarmAnalytics", "SwarmAlerting", "SwarmStore", "SwarmStoreSQLite",
                "SwarmCore", "SwarmTestSupport", logging,
            ]
        ),
        .testTarget(
            name: "SwarmAlertingTests",
            dependencies: [
                "SwarmAlerting", "SwarmInsights", "SwarmStore", "SwarmStoreSQLite", "SwarmCore", "SwarmTestSupport",
                crypto, logging, serviceLifecycle,
            ]
        ),
        .testTarget(
            name: "SwarmAnalyticsTests",
            dependencies: ["SwarmAnalytics", "SwarmCore"],
            exclude: ["Fixtures"]  // read by path: written by scripts/analytics-fixtures.sh
        ),
        .testTarget(
            name: "SwarmWireTests",
            dependencies: ["SwarmWire", "SwarmProto", "SwarmCore", "SwarmTestSupport", nioCore, swiftProtobuf]
        ),
        .testTarget(
            name: "SwarmPKITests",
            dependencies: ["SwarmPKI", "SwarmTestSupport", "SwarmCore", nioCore, nioPosix, nioSSL, x509]
        ),
        .testTarget(name: "SwarmStoreTests", dependencies: ["SwarmStore", "SwarmCore"]),
        .testTarget(
            name: "SwarmStoreSQLiteTests",
            dependencies: [
                "SwarmStoreSQLite", "SwarmStore", "SwarmCore", "SwarmTestSupport", logging, serviceLifecycle,
            ]
        ),
        .testTarget(
            name: "SwarmStorePostgresTests",
            dependencies: [
                "SwarmStorePostgres", "SwarmStore", "SwarmCore", "SwarmTestSupport", postgresNIO, logging,
                serviceLifecycle,
            ]
        ),
        .testTarget(
            name: "SwarmServerTests",
            dependencies: ["SwarmServer", "SwarmStore", "SwarmStoreSQLite", "SwarmCore", "SwarmTestSupport", logging]
        ),
        .testTarget(
            name: "SwarmGNMIProtoTests",
            dependencies: ["SwarmGNMIProto", "SwarmTestSupport", swiftProtobuf, grpcCore]
        ),
        .testTarget(
            name: "SwarmGNMITests",
            dependencies: [
                "SwarmGNMI", "SwarmGNMIProto", "SwarmGNMISimulator", "SwarmCore", "SwarmPKI", "SwarmTestSupport",
                swiftProtobuf, logging, x509,
            ]
        ),
        .testTarget(
            name: "SwarmGatewayTests",
            dependencies: [
                "SwarmGateway", "SwarmStore", "SwarmStoreSQLite", "SwarmWire", "SwarmCore", "SwarmProto",
                "SwarmServer", "SwarmTestSupport", "SwarmPKI", hummingbird, hummingbirdTesting, logging, swiftProtobuf,
                grdb,
            ]
        ),
        .testTarget(
            name: "SwarmAgentTests",
            dependencies: ["SwarmAgent", "SwarmCore", "SwarmProto", "SwarmTestSupport", swiftProtobuf]
        ),
        .testTarget(
            name: "SwarmProbesTests",
            dependencies: ["SwarmProbes", "SwarmCore", "SwarmTestSupport", nioCore, nioPosix, logging]
        ),
        .testTarget(
            name: "SwarmLabTests",
            dependencies: [
                "SwarmProbes", "SwarmCore", "SwarmTestSupport", "SwarmStore", "SwarmStoreSQLite", "SwarmWire",
                "SwarmPKI", "SwarmGateway", "SwarmAnalytics", "SwarmInsights", "SwarmAlerting", nioCore, nioPosix,
                logging,
            ]
        ),
        .testTarget(
            name: "SwarmIntegrationTests",
            dependencies: [
                "SwarmServer", "SwarmAgent", "SwarmStore", "SwarmStoreSQLite", "SwarmStorePostgres", "SwarmWire",
                "SwarmProto", "SwarmPKI",
                "SwarmProbes", "SwarmGateway", "SwarmAnalytics", "SwarmCore", "SwarmTestSupport", "SwarmGNMIProto",
                "SwarmGNMISimulator", nioCore, nioPosix,
                nioSSL, swiftProtobuf,
                logging, serviceLifecycle, crypto,
                x509,
                grdb,
            ]
        ),
    ]
)

// Shared settings for every Swift target (C shims take none).
for target in package.targets where !target.name.hasPrefix("C") {
    target.swiftSettings = (target.swiftSettings ?? []) + swiftSettings
}
