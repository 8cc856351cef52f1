#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// e^x from the C library (SpeculaCore imports no Foundation).
@inline(__always) func _exp(_ x: Double) -> Double { exp(x) }
/// ln x from the C library.
@inline(__always) func _log(_ x: Double) -> Double { log(x) }
