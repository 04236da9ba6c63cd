import NIOCore

enum System {
    static var coreCount: Int { NIOCore.System.coreCount }
}
