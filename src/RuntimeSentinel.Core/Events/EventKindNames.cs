namespace RuntimeSentinel.Core.Events;

/// <summary>Maps <see cref="EventKind"/> to and from its wire name without allocating.</summary>
public static class EventKindNames
{
    private static readonly string[] Names =
    [
        "unknown", "process_exec", "process_exit", "file_open", "syscall", "net_connect", "net_accept", "net_listen",
        "dns_query", "resource_usage", "net_flow", "sensor_alert",
    ];

    private static readonly byte[][] Utf8Names = Names.Select(System.Text.Encoding.UTF8.GetBytes).ToArray();

    public static IReadOnlyList<string> All { get; } = Names.Skip(1).ToArray();

    public static string ToWire(this EventKind kind) => Names[(int)kind];

    public static bool TryParse(ReadOnlySpan<byte> utf8, out EventKind kind)
    {
        for (var i = 1; i < Utf8Names.Length; i++)
        {
            if (utf8.SequenceEqual(Utf8Names[i]))
            {
                kind = (EventKind)i;
                return true;
            }
        }

        kind = EventKind.Unknown;
        return false;
    }

    public static bool TryParse(string name, out EventKind kind)
    {
        var i = Array.IndexOf(Names, name);
        kind = i > 0 ? (EventKind)i : EventKind.Unknown;
        return i > 0;
    }
}
