import CPeerCredentials
import Foundation
import Glibc
import Hummingbird
import NIOCore
import PathwayAPI
import PathwayStore
import Synchronization

/// The peer process at the other end of a Unix socket connection, as the kernel reports it.
struct PeerCredentials: Sendable, Hashable {
    var pid: Int32
    var uid: UInt32
    var gid: UInt32

    /// Reads `SO_PEERCRED` on the connection's socket.
    static func of(_ channel: any Channel) async throws -> PeerCredentials {
        guard let provider = channel as? any SocketOptionProvider else {
            throw PeerCredentialsError.notASocket
        }
        let credentials: pathwayd_ucred = try await provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED)
        ).get()
        return PeerCredentials(pid: credentials.pid, uid: credentials.uid, gid: credentials.gid)
    }
}

enum PeerCredentialsError: Error { case notASocket }

/// Maps peers to roles by user and group, names or ids, as the configuration says (contract §2).
/// User names and group memberships come from the system's user database and are cached per uid
/// until the next reload.
final class RoleMap: Sendable {
    private struct Identity: Sendable {
        var user: String
        var groupIds: Set<UInt32>
    }

    private let grants: [String: DaemonConfiguration.Grant]
    private let selfUid: UInt32
    private let identities = Mutex<[UInt32: Identity]>([:])

    init(grants: [String: DaemonConfiguration.Grant], selfUid: UInt32 = getuid()) {
        self.grants = grants
        self.selfUid = selfUid
    }

    func caller(for peer: PeerCredentials) -> Caller {
        let identity = identity(of: peer.uid, primaryGroup: peer.gid)
        let roles = grants.compactMap { name, grant -> Role? in
            guard let role = Role(rawValue: name), Role.grantable.contains(role) else { return nil }
            let byUser = (grant.users ?? []).contains { matchesUser($0, uid: peer.uid, name: identity.user) }
            let byGroup = (grant.groups ?? []).contains { group in
                groupId(group).map { identity.groupIds.contains($0) || $0 == peer.gid } ?? false
            }
            return byUser || byGroup ? role : nil
        }
        return Caller(uid: peer.uid, gid: peer.gid, pid: peer.pid, user: identity.user, roles: Set(roles))
    }

    private func matchesUser(_ entry: String, uid: UInt32, name: String) -> Bool {
        if entry == "@self" { return uid == selfUid }
        if let id = UInt32(entry) { return id == uid }
        return entry == name
    }

    private func groupId(_ entry: String) -> UInt32? {
        if let id = UInt32(entry) { return id }
        return Self.lookupGroup(entry)
    }

    private func identity(of uid: UInt32, primaryGroup: UInt32) -> Identity {
        if let known = identities.withLock({ $0[uid] }) { return known }
        let name = Self.lookupUser(uid)
        var groups: Set<UInt32> = [primaryGroup]
        if let name {
            var count: Int32 = 64
            var list = [gid_t](repeating: 0, count: Int(count))
            if getgrouplist(name, primaryGroup, &list, &count) == -1 {
                list = [gid_t](repeating: 0, count: Int(count))
                _ = getgrouplist(name, primaryGroup, &list, &count)
            }
            groups.formUnion(list.prefix(Int(max(count, 0))))
        }
        let identity = Identity(user: name ?? String(uid), groupIds: groups)
        identities.withLock { $0[uid] = identity }
        return identity
    }

    static func lookupUser(_ uid: UInt32) -> String? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let name = entry.pw_name
        else { return nil }
        return String(cString: name)
    }

    static func lookupUserId(_ name: String) -> UInt32? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwnam_r(name, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return entry.pw_uid
    }

    /// User and group names of the configuration that the system does not know, as
    /// `roles.ROLE.users: NAME`; numeric ids and `@self` are taken as they are.
    static func unknownNames(in grants: [String: DaemonConfiguration.Grant]) -> [String] {
        var unknown: [String] = []
        for (role, grant) in grants.sorted(by: { $0.key < $1.key }) {
            for user in grant.users ?? [] where user != "@self" && UInt32(user) == nil && lookupUserId(user) == nil {
                unknown.append("roles.\(role).users: \(user)")
            }
            for group in grant.groups ?? [] where UInt32(group) == nil && lookupGroup(group) == nil {
                unknown.append("roles.\(role).groups: \(group)")
            }
        }
        return unknown
    }

    /// Role accounts that cannot open a socket of group `socketGroup` (mode 0660): configured
    /// users, and the members of configured groups, who are not in that group. Root always can.
    static func accountsWithoutSocketAccess(
        in grants: [String: DaemonConfiguration.Grant], socketGroup: UInt32, selfUid: UInt32 = getuid()
    ) -> [String] {
        var names: [(role: String, account: String)] = []
        for (role, grant) in grants {
            for user in grant.users ?? [] where user != "@self" {
                names.append((role, UInt32(user).flatMap(lookupUser) ?? user))
            }
            for group in grant.groups ?? [] {
                names += groupMembers(group).map { (role, $0) }
            }
        }
        var lacking: Set<String> = []
        for (role, account) in names {
            guard let uid = lookupUserId(account), uid != 0, uid != selfUid else { continue }
            var entry = passwd()
            var result: UnsafeMutablePointer<passwd>?
            var buffer = [CChar](repeating: 0, count: 4096)
            guard getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil else { continue }
            var count: Int32 = 256
            var list = [gid_t](repeating: 0, count: Int(count))
            _ = getgrouplist(account, entry.pw_gid, &list, &count)
            if !list.prefix(Int(max(count, 0))).contains(socketGroup) { lacking.insert("\(account) (\(role))") }
        }
        return lacking.sorted()
    }

    private static func groupMembers(_ name: String) -> [String] {
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16384)
        let found =
            UInt32(name).map { getgrgid_r($0, &entry, &buffer, buffer.count, &result) }
            ?? getgrnam_r(name, &entry, &buffer, buffer.count, &result)
        guard found == 0, result != nil, var member = entry.gr_mem else { return [] }
        var members: [String] = []
        while let name = member.pointee {
            members.append(String(cString: name))
            member += 1
        }
        return members
    }

    static func lookupGroup(_ name: String) -> UInt32? {
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getgrnam_r(name, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return entry.gr_gid
    }
}
