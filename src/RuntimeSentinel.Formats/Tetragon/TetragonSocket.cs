using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Formats.Tetragon;

/// <summary>A socket argument (<c>sock_arg</c>) or address (<c>sockaddr_arg</c>) of a probe.</summary>
internal struct TetragonSocket
{
    public bool Present;
    public string? Protocol, Type, Saddr, Daddr;
    public int Sport, Dport;

    public readonly NetInfo ToNet() => new(ProtocolName(Protocol ?? Type), Saddr, Sport, Daddr, Dport, 0, 0);

    /// <summary>The native protocol name: any name with tcp in it (<c>TCP</c>, <c>IPPROTO_TCP</c>) is <c>tcp</c>, udp alike; others lower case.</summary>
    public static string? ProtocolName(string? p) => p switch
    {
        null => null,
        _ when p.Contains("tcp", StringComparison.OrdinalIgnoreCase) => "tcp",
        _ when p.Contains("udp", StringComparison.OrdinalIgnoreCase) => "udp",
        _ => KernelFunctions.Lower(p),
    };
}
