import SpeculaCore
import SpeculaNet
import Testing

/// The protobuf-c codec and the length-prefixed framing.
struct CodecTests {
    @Test(arguments: SampleMessages.all)
    func everyMessageSurvivesARoundTrip(message: Message) throws {
        #expect(try MessageCodec.decode(MessageCodec.encode(message)) == message)
    }

    @Test func decoderAcceptsAStreamSplitAtEveryPoint() throws {
        let messages = SampleMessages.all
        let stream = messages.flatMap(FrameEncoder.frame)
        for split in 0...stream.count {
            var decoder = FrameDecoder()
            var decoded: [Message] = []
            decoder.append(stream[..<split])
            while let m = try decoder.nextMessage() { decoded.append(m) }
            decoder.append(stream[split...])
            while let m = try decoder.nextMessage() { decoded.append(m) }
            #expect(decoded == messages, "split at \(split)")
            #expect(decoder.bufferedByteCount == 0)
        }
    }

    @Test func decoderAcceptsOneByteAtATime() throws {
        let messages = SampleMessages.all
        var decoder = FrameDecoder()
        var decoded: [Message] = []
        for byte in messages.flatMap(FrameEncoder.frame) {
            decoder.append([byte])
            while let m = try decoder.nextMessage() { decoded.append(m) }
        }
        #expect(decoded == messages)
    }

    @Test func oversizedLengthPrefixIsRejectedBeforeThePayloadArrives() {
        var decoder = FrameDecoder(maxFrameSize: 1024)
        decoder.append([0x7F, 0xFF, 0xFF, 0xFF])  // 2 GiB announced, 4 bytes sent
        #expect(throws: FrameError.frameTooLarge(length: 0x7FFF_FFFF, limit: 1024)) { try decoder.nextFrame() }
        #expect(decoder.bufferedByteCount == 4, "nothing may be reserved for the announced payload")
        // The decoder stays failed.
        #expect(throws: FrameError.self) { try decoder.nextFrame() }
    }

    @Test func frameAtTheLimitIsAccepted() throws {
        let frame = FrameEncoder.frame(.draftToken(SampleMessages.draftToken()))
        var decoder = FrameDecoder(maxFrameSize: frame.count - 4)
        decoder.append(frame)
        #expect(try decoder.nextMessage() != nil)
    }

    @Test func randomGarbageIsRejectedWithATypedError() {
        var stream = RandomStream(seed: 99)
        var rejected = 0
        for length in 1...200 {
            let garbage = (0..<length).map { _ in UInt8(truncatingIfNeeded: stream.next()) }
            do {
                _ = try MessageCodec.decode(garbage)
            } catch {
                rejected += 1
            }
        }
        // Some short byte strings are valid protobuf by chance; most are not. None may crash.
        #expect(rejected > 150)
    }

    @Test func truncatedEnvelopeIsRejected() {
        let bytes = MessageCodec.encode(.draftToken(SampleMessages.draftToken()))
        for cut in [1, 2, 10, bytes.count / 2, bytes.count - 1] {
            #expect(throws: FrameError.self, "cut at \(cut)") { try MessageCodec.decode(bytes[..<cut]) }
        }
    }

    @Test func emptyEnvelopeIsRejected() {
        #expect(throws: FrameError.malformed("envelope has no message (body case 0)")) { try MessageCodec.decode([]) }
    }
}
