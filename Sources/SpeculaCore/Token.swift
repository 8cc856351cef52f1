/// A token id in the model's vocabulary (`0 ..< vocabularySize`).
///
/// A plain `Int` keeps index arithmetic free of conversions; the wire format narrows it to
/// `uint32`.
package typealias Token = Int
