// swift-tools-version: 6.1
// Kezek microbenchmarks (ordo-one/benchmark). A package of its own so that the main build
// never resolves or builds the benchmark framework. Run from the repository root with
// `make bench`, or here with `swift package --allow-writing-to-package-directory benchmark`.
import PackageDescription

let package = Package(
    name: "KezekBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Kezek", path: ".."),
        // Its default traits pull a package this machine lacks: ask for the malloc interposer only.
        .package(
            url: "https://github.com/ordo-one/benchmark", from: "1.38.1",
            traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [],
    swiftLanguageModes: [.v5]
)

func benchmarkTarget(_ name: String, core: String = "KezekCore", extra: [Target.Dependency] = [])
    -> Target
{
    .executableTarget(
        name: name,
        dependencies: [
            .product(name: "Benchmark", package: "benchmark"),
            .product(name: core, package: "Kezek"),
        ] + extra,
        path: "Benchmarks/\(name)",
        plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    )
}

/// The tests' private redis-server and SplitMix64, shared with the main package's tests.
let testSupport: Target.Dependency = .product(name: "KezekTestSupport", package: "Kezek")

package.targets += [
    benchmarkTarget("ParserBench"),
    benchmarkTarget("SeatTableBench"),
    benchmarkTarget("MetricsBench"),
    benchmarkTarget("MirrorEncoderBench"),
    benchmarkTarget(
        "RecoveryBench", extra: [.product(name: "Logging", package: "swift-log"), testSupport]),
    benchmarkTarget("DrawBench", core: "KezekDraw", extra: [testSupport]),
]
