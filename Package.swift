// swift-tools-version:6.0
//
// gatewayd: an edge sensor gateway. Module boundaries follow one rule:
// GatewayModel and Detection import no C; Drivers, BufferStore and Uplink each
// own exactly one C library; the executables wire them together.
import PackageDescription

let package = Package(
    name: "gatewayd",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "gatewayd", targets: ["GatewayDaemon"]),
        .executable(name: "gatewayctl", targets: ["GatewayCtl"]),
        .executable(name: "gateway-sim", targets: ["GatewaySim"]),
        .executable(name: "gateway-bench", targets: ["GatewayBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
    ],
    targets: [
        // C libraries from Debian, found with pkg-config.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CModbus", pkgConfig: "libmodbus", providers: [.apt(["libmodbus-dev"])]),
        .systemLibrary(name: "CMosquitto", pkgConfig: "libmosquitto", providers: [.apt(["libmosquitto-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // toml++ (libtomlplusplus-dev, compiled in from its headers) behind a C
        // walk, so no C++ type and no Foundation (which Swift TOML packages
        // import) reaches the daemon, and the box needs no libtomlplusplus.so.
        .target(name: "CTOMLDocument"),
        // glibc's allocator tuning (<malloc.h>), which the Glibc module does not export.
        .target(name: "CGlibcMalloc"),

        // Readings, qualities, records, configuration types, bounded channels.
        .target(name: "GatewayModel"),
        // The TOML reader: one parser for `config check`, daemon start and reload.
        .target(name: "GatewayConfig", dependencies: [
            "GatewayModel", "Detection", "CTOMLDocument",
        ], exclude: ["README.md"]),
        // Field buses: Modbus TCP/RTU (libmodbus), serial line protocols, scheduling.
        .target(name: "Drivers", dependencies: [
            "GatewayModel", "CModbus",
            .product(name: "Logging", package: "swift-log"),
        ], exclude: ["Modbus/README.md", "SerialLine/README.md"]),
        // The durable SQLite buffer.
        .target(name: "BufferStore", dependencies: [
            "GatewayModel", "CSQLite",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // MQTT upstream (libmosquitto).
        .target(name: "Uplink", dependencies: [
            "GatewayModel", "GatewayJSON", "CMosquitto",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // JSON for the control socket and `cmd/resend` without Foundation (issue #8).
        .target(name: "GatewayJSON", dependencies: ["GatewayModel"], exclude: ["README.md"]),
        // Leak and anomaly detectors: pure computation, no I/O.
        .target(name: "Detection", dependencies: ["GatewayModel"]),
        // Replay CSV reading (plain or gzip) and the offline replay loop `detect --replay` runs.
        .target(name: "ReplayInput", dependencies: ["GatewayModel", "Detection", "CZlib"]),

        .executableTarget(name: "GatewayDaemon", dependencies: [
            "GatewayModel", "GatewayConfig", "Drivers", "BufferStore", "Uplink", "Detection", "ControlChannel", "CGlibcMalloc",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ], exclude: ["README.md"]),
        .executableTarget(name: "GatewayCtl", dependencies: [
            "GatewayModel", "GatewayConfig", "Drivers", "BufferStore", "Detection", "ReplayInput", "Uplink", "ControlChannel",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ], exclude: ["README.md"]),
        // The local control socket between gatewayd and gatewayctl: messages and framing.
        .target(name: "ControlChannel", dependencies: ["GatewayModel", "GatewayJSON", "Drivers", "BufferStore", "Uplink"]),
        // `make bench`: what a reading costs, how fast a backlog drains (release build).
        .executableTarget(name: "GatewayBench", dependencies: [
            "GatewayModel", "Drivers", "BufferStore", "Uplink", "Detection", "ReplayInput", "CModbus",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Device simulators on libmodbus's server API (and a parking concentrator).
        .executableTarget(name: "GatewaySim", dependencies: [
            "CModbus",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], exclude: ["README.md"]),

        // Test-only helpers: a real mosquitto on a free loopback port, child processes.
        .target(name: "GatewayTestSupport", dependencies: ["GatewayModel"], path: "Tests/GatewayTestSupport"),
        .testTarget(name: "GatewayModelTests", dependencies: ["GatewayModel"]),
        .testTarget(name: "GatewayJSONTests", dependencies: ["GatewayJSON"]),
        .testTarget(name: "GatewayConfigTests", dependencies: ["GatewayConfig", "GatewayModel"], exclude: ["Cases"]),
        .testTarget(name: "DriversTests", dependencies: ["Drivers", "GatewayModel", "CModbus", "GatewayTestSupport", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "BufferStoreTests", dependencies: ["BufferStore", "GatewayModel", "GatewayTestSupport"]),
        .testTarget(name: "UplinkTests", dependencies: ["Uplink", "BufferStore", "GatewayModel", "GatewayTestSupport",
                                                  .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "DetectionTests", dependencies: ["Detection", "GatewayModel", "ReplayInput", "GatewayConfig", "GatewayTestSupport"]),
        .testTarget(name: "EndToEndTests", dependencies: ["GatewayModel", "GatewayTestSupport"]),
        .testTarget(name: "GatewayCtlTests", dependencies: ["GatewayModel", "GatewayTestSupport", "BufferStore"]),
        // The daemon's own wiring (store → detection router) driven in-process, against the offline replay.
        .testTarget(name: "DaemonPathTests", dependencies: [
            "GatewayDaemon", "BufferStore", "Detection", "ReplayInput", "GatewayConfig", "GatewayModel", "GatewayTestSupport",
            .product(name: "Logging", package: "swift-log"),
        ]),
    ],
    swiftLanguageModes: [.v5],
    cxxLanguageStandard: .cxx17
)
