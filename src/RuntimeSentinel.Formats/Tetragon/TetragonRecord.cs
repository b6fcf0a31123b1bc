using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Formats.Tetragon;

/// <summary>
/// What one Tetragon message says, gathered in one pass by <see cref="TetragonRecordReader"/> and turned into an
/// event by <see cref="TetragonEventMapper"/>. A mutable struct passed by reference, so a message costs no object.
/// </summary>
internal struct TetragonRecord
{
    public string? Type, Node, Function, Event, Subsys, Policy;

    // process_uprobe: the symbol in the binary at ProbePath. process_dns: the query and the answers' addresses.
    public string? Symbol, ProbePath, DnsQuery, DnsAnswers;
    public DateTimeOffset? Time;
    public bool HasBody;
    public TetragonProcess Process, Parent;
    public long? Return, Status;
    public TetragonSocket ReturnSock;

    // From args, the first of each (the policy's argument order); TextPath from a string argument that is a path.
    public string? Path, FileFlags, TextPath;
    public NetInfo? Net;
    public long Size;

    // Older connect/close/listen events.
    public string? LegacyProtocol, SourceIp, DestinationIp, Ip;
    public int SourcePort, DestinationPort, Port;
    public long? BytesReceived, BytesSent;

    /// <summary>A record with nothing read yet: numbers that may be absent start at -1 (0 is a valid port, pid and uid).</summary>
    public static TetragonRecord Unread()
    {
        var r = new TetragonRecord { Size = -1, SourcePort = -1, DestinationPort = -1, Port = -1 };
        r.Process.Pid = r.Process.Uid = r.Parent.Pid = r.Parent.Uid = -1;
        return r;
    }
}
