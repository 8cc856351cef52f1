/// GPT-2's byte-to-unicode map: every byte gets a printable character, so byte-level BPE
/// vocabularies can be stored as strings. Printable Latin-1 bytes map to themselves; the other 68
/// bytes map to U+0100 onwards, in byte order.
enum ByteLevelAlphabet {
    static let characters: [Character] = {
        var printable = Set<Int>()
        for r in [33...126, 161...172, 174...255] { for b in r { printable.insert(b) } }
        var next = 256
        return (0..<256).map { byte in
            if printable.contains(byte) { return Character(Unicode.Scalar(UInt8(byte))) }
            defer { next += 1 }
            return Character(Unicode.Scalar(UInt32(next))!)
        }
    }()

    static let bytes: [Character: UInt8] = {
        var map: [Character: UInt8] = [:]
        for (byte, c) in characters.enumerated() { map[c] = UInt8(byte) }
        return map
    }()

    /// The vocabulary spelling of raw bytes.
    static func encode(_ bytes: some Sequence<UInt8>) -> [Character] { bytes.map { characters[Int($0)] } }
}
