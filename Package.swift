// swift-tools-version: 6.1
// Kezek: a seat-reservation daemon. See README.md.
import PackageDescription

// Release builds skip exclusivity checks (about +11% on the parser, measured) but keep
// preconditions: -Ounchecked would delete them, side effects included.
let fastSettings: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))
]

let package = Package(
    name: "Kezek",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "kezekd", targets: ["kezekd"]),
        .executable(name: "kezek-bench", targets: ["kezek-bench"]),
        .executable(name: "kezek-audit", targets: ["kezek-audit"]),
        .library(name: "KezekCore", targets: ["KezekCore"]),
        .library(name: "KezekDraw", targets: ["KezekDraw"]),
        // For Benchmarks/ (a package of its own): the tests' private redis-server and helpers.
        .library(name: "KezekTestSupport", targets: ["KezekTestSupport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(
            url: "https://github.com/apple/swift-configuration", from: "1.4.0",
            traits: ["YAML", "CommandLineArguments"]),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        .systemLibrary(name: "CLibUV", pkgConfig: "libuv", providers: [.apt(["libuv1-dev"])]),
        .systemLibrary(
            name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(
            name: "CLibCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .target(name: "CKezekShims", dependencies: ["CLibUV", "CHiredis"]),
        // TLS on the client port through OpenSSL memory BIOs (libssl, from libssl-dev).
        .target(
            name: "CKezekTLS", linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]),
        // The fair-round draw: lottery numbers and deferred acceptance, no I/O.
        .target(name: "KezekDraw", dependencies: ["CLibCrypto"], swiftSettings: fastSettings),
        .target(
            name: "KezekCore",
            dependencies: [
                "CLibUV", "CHiredis", "CKezekShims", "CKezekTLS", "KezekDraw",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: fastSettings
        ),
        // The admin listener (and, later, the public pages): Hummingbird on its own thread.
        .target(
            name: "KezekHTTP",
            dependencies: [
                "KezekCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "kezekd",
            dependencies: [
                "KezekCore", "KezekHTTP",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: fastSettings
        ),
        // The blocking loopback client (lines and RESP), free ports, the monotonic clock and
        // SplitMix64: shared by kezek-audit, kezek-bench and the tests (through KezekTestSupport).
        .target(name: "KezekClientSupport"),
        // Checks what Kezek publishes, from the published files alone.
        .executableTarget(
            name: "kezek-audit",
            dependencies: [
                "KezekDraw", "KezekClientSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: fastSettings
        ),
        // The nemesis's history checker: the seat model and the linearizability search, no I/O.
        .target(name: "KezekNemesis", dependencies: ["KezekDraw"]),
        .executableTarget(
            name: "kezek-bench",
            dependencies: [
                "CLibUV", "KezekDraw", "KezekNemesis", "KezekClientSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: fastSettings
        ),
        // What the tests and Benchmarks/ share: private redis-server and kezekd processes,
        // process control, polling, thread helpers (and KezekClientSupport, re-exported).
        .target(
            name: "KezekTestSupport", dependencies: ["KezekClientSupport", "KezekCore"],
            path: "Tests/KezekTestSupport"
        ),
        .testTarget(name: "KezekCoreTests", dependencies: ["KezekCore", "KezekTestSupport"]),
        .testTarget(name: "KezekDrawTests", dependencies: ["KezekDraw", "KezekTestSupport"]),
        .testTarget(name: "KezekNemesisTests", dependencies: ["KezekNemesis", "KezekDraw"]),
        .testTarget(
            name: "KezekIntegrationTests",
            dependencies: ["KezekCore", "KezekDraw", "KezekTestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
