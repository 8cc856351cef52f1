/// An expression of the template language, as parsed.
indirect enum JinjaExpression {
    case literal(JinjaValue)
    case name(String)
    case list([JinjaExpression])
    case tuple([JinjaExpression])
    case dictionary([(key: JinjaExpression, value: JinjaExpression)])
    /// `a.b`: an attribute, or a dictionary's item.
    case attribute(JinjaExpression, String)
    /// `a[b]`.
    case item(JinjaExpression, JinjaExpression)
    /// `a[start:stop:step]`.
    case slice(JinjaExpression, start: JinjaExpression?, stop: JinjaExpression?, step: JinjaExpression?)
    case call(JinjaExpression, JinjaArguments)
    case filter(JinjaExpression, name: String, JinjaArguments)
    /// `a is [not] name(args)`.
    case test(JinjaExpression, name: String, JinjaArguments, negated: Bool)
    case unary(String, JinjaExpression)
    case binary(String, JinjaExpression, JinjaExpression)
    /// `a and b`, `a or b`: the right side is evaluated only when needed.
    case and(JinjaExpression, JinjaExpression)
    case or(JinjaExpression, JinjaExpression)
    /// `then if condition else otherwise` (no `else`: undefined).
    case conditional(condition: JinjaExpression, then: JinjaExpression, otherwise: JinjaExpression?)
}

/// The arguments of a call, a filter or a test.
struct JinjaArguments {
    var positional: [JinjaExpression] = []
    var named: [(name: String, value: JinjaExpression)] = []
}

/// A statement (or literal text) of a template's body.
indirect enum JinjaNode {
    case text(String)
    case output(JinjaExpression, line: Int)
    case `if`([(condition: JinjaExpression, body: [JinjaNode])], otherwise: [JinjaNode], line: Int)
    case `for`(JinjaForLoop, line: Int)
    /// `{% set target = value %}`; `target` is a name, names to unpack, or `namespace.attribute`.
    case set(JinjaAssignment, JinjaExpression, line: Int)
    /// `{% set name %}…{% endset %}`: the rendered body as a string.
    case setBlock(String, [JinjaNode], line: Int)
    case macro(JinjaMacro)
    case `break`, `continue`
}

/// Where `set` and `for` put their values.
enum JinjaAssignment {
    case names([String])
    case attribute(object: String, attribute: String)
}

struct JinjaForLoop {
    let targets: [String]
    let iterable: JinjaExpression
    let condition: JinjaExpression?
    let body: [JinjaNode]
    let otherwise: [JinjaNode]
}

struct JinjaMacro {
    let name: String
    let parameters: [(name: String, defaultValue: JinjaExpression?)]
    let body: [JinjaNode]
}
