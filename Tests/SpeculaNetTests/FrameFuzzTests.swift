import Foundation
import SpeculaNet
import Testing

/// A seeded property-based fuzzer over the frame decoder and the message codec, the code every
/// peer's bytes go through first: valid frames mutated (bits flipped, bytes cut, inserted or
/// overwritten, length prefixes forged) and fed in random splits must each end as a message or a
/// `FrameError`, never a trap, and a decoder stays failed after its first error. Unmutated
/// frames, however split, decode to the messages sent.
///
/// `SPECULA_FUZZ_ITERATIONS` (default 20,000) and `SPECULA_FUZZ_SEED` set the run; a failure
/// prints the seed and iteration that reproduce it.
struct FrameFuzzTests {
    static let iterations = ProcessInfo.processInfo.environment["SPECULA_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 20_000
    static let seed = ProcessInfo.processInfo.environment["SPECULA_FUZZ_SEED"].flatMap(UInt64.init) ?? 0x5eed

    /// SplitMix64: a small, seedable generator (the standard library's is not seedable).
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func mutate(_ frame: [UInt8], _ random: inout SplitMix) -> [UInt8] {
        var bytes = frame
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            switch Int.random(in: 0..<6, using: &random) {
            case 0 where !bytes.isEmpty: bytes[Int.random(in: 0..<bytes.count, using: &random)] ^= 1 << UInt8.random(in: 0..<8, using: &random)
            case 1 where !bytes.isEmpty: bytes.removeLast(Int.random(in: 0...bytes.count, using: &random))
            case 2: bytes.insert(UInt8.random(in: 0...255, using: &random), at: Int.random(in: 0...bytes.count, using: &random))
            case 3 where bytes.count > 4:
                // A forged length prefix, consistent with the bytes that follow or not.
                let length = Bool.random(using: &random) ? UInt32(bytes.count - 4) : UInt32.random(in: 0...UInt32.max, using: &random)
                bytes.replaceSubrange(0..<4, with: withUnsafeBytes(of: length.bigEndian, Array.init))
            case 4 where !bytes.isEmpty: bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            default: bytes += (0..<Int.random(in: 1...16, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            }
        }
        return bytes
    }

    /// Feeds `bytes` in random splits; returns the messages decoded and whether it failed.
    static func feed(_ bytes: [UInt8], _ random: inout SplitMix, maxFrameSize: Int = 1 << 16) -> (messages: [Message], failed: Bool) {
        var decoder = FrameDecoder(maxFrameSize: maxFrameSize)
        var messages: [Message] = []
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + Int.random(in: 1...64, using: &random))
            decoder.append(bytes[offset..<end])
            offset = end
            do {
                while let message = try decoder.nextMessage() { messages.append(message) }
            } catch {
                // Failed for good: the next call throws again and yields nothing.
                #expect(throws: FrameError.self) { _ = try decoder.nextMessage() }
                return (messages, true)
            }
        }
        return (messages, false)
    }

    @Test func mutatedFramesEndAsAMessageOrAnErrorNeverATrap() {
        var random = SplitMix(state: Self.seed)
        let frames = SampleMessages.all.map(FrameEncoder.frame)
        var failures = 0, decoded = 0
        for iteration in 0..<Self.iterations {
            let count = Int.random(in: 1...3, using: &random)
            let input = (0..<count).flatMap { _ in Self.mutate(frames.randomElement(using: &random)!, &random) }
            let (messages, failed) = Self.feed(input, &random)
            decoded += messages.count
            if failed { failures += 1 }
            // A decoded message re-encodes and decodes to the same bytes (the codec is total on what it
            // accepts; bytes, not values, since a mutated float may be NaN).
            for message in messages {
                let bytes = MessageCodec.encode(message)
                let again = try? MessageCodec.decode(bytes)
                #expect(again.map(MessageCodec.encode) == bytes, "seed \(Self.seed), iteration \(iteration): \(message.kind) does not survive a round trip")
            }
        }
        // The fuzzer reached both outcomes (a mutator that never produced errors would prove nothing).
        #expect(failures > Self.iterations / 10 && decoded > Self.iterations / 10, "failures \(failures), decoded \(decoded)")
    }

    @Test func unmutatedFramesDecodeToTheMessagesSentHoweverSplit() {
        var random = SplitMix(state: Self.seed ^ 1)
        for _ in 0..<max(1, Self.iterations / 20) {
            let sent = (0..<Int.random(in: 1...8, using: &random)).map { _ in SampleMessages.all.randomElement(using: &random)! }
            let (received, failed) = Self.feed(sent.flatMap(FrameEncoder.frame), &random, maxFrameSize: WireProtocol.defaultMaxFrameSize)
            #expect(!failed)
            #expect(received == sent)
        }
    }

    @Test func randomBytesNeverTrap() {
        var random = SplitMix(state: Self.seed ^ 2)
        for _ in 0..<Self.iterations {
            let bytes = (0..<Int.random(in: 0...96, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            _ = try? MessageCodec.decode(bytes)
            _ = Self.feed(bytes, &random)
        }
    }
}
