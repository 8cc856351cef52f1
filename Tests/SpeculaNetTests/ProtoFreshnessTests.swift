import Foundation
import Testing

/// The committed protobuf-c code must be what `make proto` generates from `proto/specula.proto`.
struct ProtoFreshnessTests {
    @Test func committedProtobufCCodeMatchesTheProtoFile() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("specula-proto-\(UUID())")
        defer { try? FileManager.default.removeItem(at: out) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [root.appendingPathComponent("scripts/gen-proto.sh").path, out.path]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "scripts/gen-proto.sh failed (is protobuf-c-compiler installed? run make deps)")
        for file in ["specula.pb-c.c", "include/specula.pb-c.h"] {
            let fresh = try Data(contentsOf: out.appendingPathComponent(file))
            let committed = try Data(contentsOf: root.appendingPathComponent("Sources/SpeculaProto").appendingPathComponent(file))
            #expect(fresh == committed, "Sources/SpeculaProto/\(file) is stale: run `make proto` and commit")
        }
    }
}
