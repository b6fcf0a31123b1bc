using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Formats;

/// <summary>
/// Which side of a connection a socket is on, read from its ports, for sensors that report a socket without saying
/// who opened it (Tetragon's probes, Falco's and Tracee's syscalls).
/// </summary>
internal static class ConnectionSides
{
    /// <summary>Linux's default local port range: the client side of a connection has its port from it.</summary>
    public static bool IsEphemeral(int port) => port is >= 32768 and <= 60999;

    /// <summary>Who opened a connection, from its ports: the side on the ephemeral port is the client.</summary>
    public static NetDirection Direction(in NetInfo n) =>
        (IsEphemeral(n.LocalPort), IsEphemeral(n.RemotePort)) switch
        {
            (true, false) => NetDirection.Outbound,
            (false, true) => NetDirection.Inbound,
            _ when n.LocalPort is > 0 and < 1024 && n.RemotePort >= 1024 => NetDirection.Inbound,
            _ when n.RemotePort is > 0 and < 1024 && n.LocalPort >= 1024 => NetDirection.Outbound,
            _ => NetDirection.Unknown,
        };
}
