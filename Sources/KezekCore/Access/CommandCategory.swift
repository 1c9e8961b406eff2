/// The ACL categories of Kezek's commands, in the Redis ACL's shape (`+@gateway`): what a
/// booking gateway, a monitoring scraper and an operator each need. `connection` commands
/// (AUTH, HELLO, PING, SELECT, a connection's own CLIENT settings, COMMAND, CLUSTER: what a
/// client library sends on its own to connect and route) are granted to every user.
public enum CommandCategory: String, CaseIterable, Sendable {
    case connection, gateway, monitor, admin
}
