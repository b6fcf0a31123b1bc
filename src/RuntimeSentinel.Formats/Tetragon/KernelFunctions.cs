namespace RuntimeSentinel.Formats.Tetragon;

/// <summary>
/// What the name of a hooked kernel function, tracepoint or LSM hook means: its role for a connection
/// (docs/formats.md, "Network semantics"), its syscall name, and the access a permission mask asks for.
/// </summary>
internal static class KernelFunctions
{
    private static readonly string[] SyscallPrefixes = ["__x64_sys_", "__arm64_sys_", "__ia32_sys_", "__se_sys_", "__do_sys_", "sys_enter_", "sys_exit_", "sys_"];

    /// <summary>What a function does to a connection.</summary>
    public enum Role
    {
        None,
        Connect,
        Accept,
        Datagram,
        Send,
        Receive,
        Close,
        Listen,
    }

    /// <summary>The role of a function by its lower-case name.</summary>
    public static Role NetRole(string f) => f switch
    {
        "tcp_connect" or "tcp_v4_connect" or "tcp_v6_connect" or "security_socket_connect" or "connect" or "__sys_connect" or "ip4_datagram_connect" => Role.Connect,
        "inet_csk_accept" or "security_socket_accept" or "accept" or "accept4" or "__sys_accept4" or "tcp_create_openreq_child" => Role.Accept,
        "udp_sendmsg" or "udpv6_sendmsg" => Role.Datagram,
        "tcp_sendmsg" or "tcp_sendmsg_locked" or "sock_sendmsg" or "security_socket_sendmsg" => Role.Send,
        "tcp_recvmsg" or "tcp_cleanup_rbuf" or "udp_recvmsg" or "udpv6_recvmsg" or "sock_recvmsg" or "security_socket_recvmsg" => Role.Receive,
        "tcp_close" or "tcp_set_state" or "tcp_fin" or "inet_release" => Role.Close,
        "inet_listen" or "security_socket_listen" or "listen" or "__sys_listen" => Role.Listen,

        // LSM hooks (process_lsm) are named without the security_ prefix.
        "socket_connect" => Role.Connect,
        "socket_accept" => Role.Accept,
        "socket_listen" => Role.Listen,
        "socket_sendmsg" => Role.Send,
        "socket_recvmsg" => Role.Receive,
        _ when f.EndsWith("_sys_connect", StringComparison.Ordinal) => Role.Connect,
        _ when f.EndsWith("_sys_accept", StringComparison.Ordinal) || f.EndsWith("_sys_accept4", StringComparison.Ordinal) => Role.Accept,
        _ when f.EndsWith("_sys_listen", StringComparison.Ordinal) => Role.Listen,
        _ => Role.None,
    };

    /// <summary><c>__x64_sys_setuid</c> → <c>setuid</c>, the tracepoint <c>sys_enter_openat</c> → <c>openat</c>; kernel functions keep their name.</summary>
    public static string SyscallName(string function)
    {
        foreach (var prefix in SyscallPrefixes)
        {
            if (function.StartsWith(prefix, StringComparison.Ordinal))
            {
                return function[prefix.Length..];
            }
        }

        return function.Length > 64 ? function[..64] : function;
    }

    /// <summary>
    /// security_file_permission(file, mask) and friends: the access asked for is the int mask (MAY_WRITE 2, MAY_READ 4,
    /// MAY_APPEND 8), not the file's permission bits; said the way open(2) flags do. Null when it asks for none of them.
    /// </summary>
    public static string? Access(long mask) => (mask & 0xE) switch
    {
        0 => null,
        var m when (m & 8) != 0 => "O_WRONLY|O_APPEND",
        var m when (m & 2) != 0 => (m & 4) != 0 ? "O_RDWR" : "O_WRONLY",
        _ => "O_RDONLY",
    };

    /// <summary>Function names are lower case already; only one that is not costs a new string.</summary>
    public static string Lower(string function)
    {
        foreach (var c in function)
        {
            if (char.IsUpper(c))
            {
                return function.ToLowerInvariant();
            }
        }

        return function;
    }
}
