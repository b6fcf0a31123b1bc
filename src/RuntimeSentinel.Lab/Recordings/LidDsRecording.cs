using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Formats;

namespace RuntimeSentinel.Lab.Recordings;

/// <summary>
/// A LID-DS 2021 recording (<c>.zip</c> holding <c>&lt;name&gt;.sc</c>, <c>.json</c>, <c>.res</c>, <c>.pcap</c>) read as native
/// events: every syscall exit line of the victim container becomes a <c>syscall</c> event (name, return value,
/// process), <c>open</c>/<c>openat</c> with a file descriptor path also a <c>file_open</c>, <c>accept</c>/<c>connect</c> with a
/// socket tuple a <c>net_accept</c>/<c>net_connect</c>, and each <c>.res</c> row a <c>resource_usage</c> sample. The recording
/// is one workload (<c>lid-ds/Scenario/&lt;image&gt;/victim</c>); events at or after the exploit time from the
/// <c>.json</c> are labelled <c>scenario=attack:&lt;exploit name&gt;</c>, earlier ones <c>normal</c>.
/// </summary>
public sealed class LidDsRecording
{
    private readonly string _zipPath;
    private readonly string _scEntry;
    private readonly string? _resEntry;

    private LidDsRecording(string zipPath, string name, string image, string victimName, string? victimIp, bool exploit, string exploitName, DateTimeOffset? exploitTime, string scEntry, string? resEntry)
    {
        _zipPath = zipPath;
        Name = name;
        Image = image;
        VictimContainer = victimName;
        VictimIp = victimIp;
        Exploit = exploit;
        ExploitName = exploitName;
        ExploitTime = exploitTime;
        _scEntry = scEntry;
        _resEntry = resEntry;
    }

    public string Name { get; }

    public string Image { get; }

    public string VictimContainer { get; }

    public string? VictimIp { get; }

    public bool Exploit { get; }

    public string ExploitName { get; }

    /// <summary>First exploit time (absolute), when the recording contains an exploit.</summary>
    public DateTimeOffset? ExploitTime { get; }

    public string AttackLabel => "attack:" + (ExploitName == "default" ? Image : ExploitName);

    public static LidDsRecording Open(string zipPath)
    {
        using var zip = ZipFile.OpenRead(zipPath);
        var json = zip.Entries.FirstOrDefault(e => e.Name.EndsWith(".json", StringComparison.Ordinal)) ?? throw new InvalidDataException($"{zipPath}: no .json metadata in the recording");
        var sc = zip.Entries.FirstOrDefault(e => e.Name.EndsWith(".sc", StringComparison.Ordinal)) ?? throw new InvalidDataException($"{zipPath}: no .sc syscall file in the recording");
        var res = zip.Entries.FirstOrDefault(e => e.Name.EndsWith(".res", StringComparison.Ordinal));
        using var stream = json.Open();
        using var bytes = new MemoryStream();
        stream.CopyTo(bytes);
        var tape = new JsonTape(new RuntimeSentinel.Core.Text.Utf8StringCache());
        tape.Load(bytes.GetBuffer().AsSpan(0, (int)bytes.Length));
        var root = tape.Root;
        JsonNode? victim = null;
        if (root.Get("container") is { ValueKind: JsonValueKind.Array } cs)
        {
            foreach (var c in cs.EnumerateArray())
            {
                if (c.Str("role") == "victim")
                {
                    victim = c;
                    break;
                }
            }
        }

        DateTimeOffset? exploitTime = null;
        if (root.Path("time", "exploit") is { ValueKind: JsonValueKind.Array } ex && ex.GetArrayLength() > 0 && ex[0].Get("absolute") is { } abs && abs.TryGetDouble(out var seconds))
        {
            exploitTime = DateTimeOffset.UnixEpoch.AddTicks((long)(seconds * TimeSpan.TicksPerSecond));
        }

        var exploit = root.Get("exploit")?.ValueKind == JsonValueKind.True;
        return new LidDsRecording(
            zipPath,
            Path.GetFileNameWithoutExtension(sc.Name),
            root.Str("image") ?? "unknown",
            victim is { ValueKind: JsonValueKind.Object } v ? v.Str("name") ?? "victim" : "victim",
            victim is { ValueKind: JsonValueKind.Object } vip ? vip.Str("ip") : null,
            exploit,
            root.Str("exploit_name") ?? "exploit",
            exploit ? exploitTime : null,
            sc.FullName,
            res?.FullName);
    }

    /// <summary>All events in time order (syscalls streamed from the archive, resource samples merged in).</summary>
    public IEnumerable<RuntimeEvent> Events()
    {
        var workload = new WorkloadRef(null, "lid-ds", Name, "victim", VictimContainer, Image, null, "Scenario", Image, LabelSet.Of(("lid-ds.recording", Name)));
        var normal = LabelSet.Of(("scenario", "normal"), ("recording", Name));
        var attack = LabelSet.Of(("scenario", AttackLabel), ("recording", Name));
        var resources = new Queue<RuntimeEvent>(ResourceSamples(workload));
        using var zip = ZipFile.OpenRead(_zipPath);
        using var reader = new StreamReader(zip.GetEntry(_scEntry)!.Open());
        while (reader.ReadLine() is { } line)
        {
            var events = ParseLine(line, workload);
            foreach (var e in events)
            {
                while (resources.Count > 0 && resources.Peek().Timestamp <= e.Timestamp)
                {
                    var r = resources.Dequeue();
                    yield return r with { Labels = Label(r.Timestamp) };
                }

                yield return e with { Labels = Label(e.Timestamp) };
            }
        }

        while (resources.Count > 0)
        {
            var r = resources.Dequeue();
            yield return r with { Labels = Label(r.Timestamp) };
        }

        LabelSet Label(DateTimeOffset t) => ExploitTime is { } x && t >= x ? attack : normal;
    }

    private List<RuntimeEvent> ParseLine(string line, WorkloadRef workload)
    {
        // timestamp_ns uid pid process_name tid syscall direction params...
        var result = new List<RuntimeEvent>(2);
        var parts = line.Split(' ', 8);
        if (parts.Length < 7 || parts[6] != "<" || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var ns))
        {
            return result; // enter lines (">") are folded into their exit line
        }

        var ts = DateTimeOffset.UnixEpoch.AddTicks(ns / 100);
        var pid = int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var p) ? p : -1;
        var uid = int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var u) ? u : -1;
        var syscall = parts[5];
        var args = parts.Length > 7 ? parts[7] : "";
        var (ret, fdInfo) = ReturnValue(args);
        var e = new RuntimeEvent
        {
            Kind = EventKind.Syscall,
            Timestamp = ts,
            Node = "lid-ds",
            Workload = workload,
            Process = new ProcessInfo(pid, -1, uid, parts[3], null, null),
            SyscallName = syscall,
            ReturnCode = ret,
        };
        result.Add(e);
        if (fdInfo is null)
        {
            return result;
        }

        if (fdInfo.StartsWith("<f>", StringComparison.Ordinal) && syscall is "open" or "openat" or "openat2" or "creat")
        {
            var flags = Param(args, "flags");
            var paren = flags?.IndexOf('(') ?? -1;
            result.Add(e with { Kind = EventKind.FileOpen, FilePath = fdInfo[3..], FileFlags = paren >= 0 ? flags![(paren + 1)..].TrimEnd(')') : flags });
        }
        else if ((fdInfo.StartsWith("<4t>", StringComparison.Ordinal) || fdInfo.StartsWith("<6t>", StringComparison.Ordinal) || fdInfo.StartsWith("<4u>", StringComparison.Ordinal)) && syscall is "accept" or "accept4" or "connect")
        {
            var tuple = fdInfo[4..];
            var arrow = tuple.IndexOf("->", StringComparison.Ordinal);
            if (arrow > 0 && SplitEndpoint(tuple[..arrow], out var cip, out var cport) && SplitEndpoint(tuple[(arrow + 2)..], out var sip, out var sport))
            {
                var proto = fdInfo[2] == 't' ? "tcp" : "udp";
                result.Add(syscall == "connect"
                    ? e with { Kind = EventKind.NetConnect, Net = new NetInfo(proto, cip, cport, sip, sport, 0, 0) }
                    : e with { Kind = EventKind.NetAccept, Net = new NetInfo(proto, sip, sport, cip, cport, 0, 0) });
            }
        }

        return result;
    }

    /// <summary><c>res=N</c> or <c>fd=N(&lt;f&gt;/path)</c>: the return value, and what the descriptor refers to.</summary>
    private static (long? Ret, string? FdInfo) ReturnValue(string args)
    {
        var res = Param(args, "res");
        if (res is not null)
        {
            var end = res.IndexOf('(');
            return (long.TryParse(end > 0 ? res[..end] : res, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var r) ? r : null, null);
        }

        var fd = Param(args, "fd");
        if (fd is null)
        {
            return (null, null);
        }

        var open = fd.IndexOf('(');
        var number = open > 0 ? fd[..open] : fd;
        var info = open > 0 && fd.EndsWith(')') ? fd[(open + 1)..^1] : null;
        return (long.TryParse(number, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var f) ? f : null, info);
    }

    private static string? Param(string args, string name)
    {
        var key = name + "=";
        var i = args.StartsWith(key, StringComparison.Ordinal) ? 0 : args.IndexOf(" " + key, StringComparison.Ordinal) + 1;
        if (i < 0 || (i == 0 && !args.StartsWith(key, StringComparison.Ordinal)))
        {
            return null;
        }

        var start = i + key.Length;
        var end = args.IndexOf(' ', start);
        return end < 0 ? args[start..] : args[start..end];
    }

    private static bool SplitEndpoint(string s, out string ip, out int port)
    {
        var colon = s.LastIndexOf(':');
        ip = colon > 0 ? s[..colon] : s;
        port = -1;
        return colon > 0 && int.TryParse(s.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out port) && port <= 65535 && System.Net.IPAddress.TryParse(ip, out _);
    }

    private List<RuntimeEvent> ResourceSamples(WorkloadRef workload)
    {
        var list = new List<RuntimeEvent>();
        if (_resEntry is null)
        {
            return list;
        }

        using var zip = ZipFile.OpenRead(_zipPath);
        using var reader = new StreamReader(zip.GetEntry(_resEntry)!.Open());
        reader.ReadLine(); // header: timestamp,cpu_usage,memory_usage,network_received,network_send,storage_read,storage_written
        while (reader.ReadLine() is { } line)
        {
            var c = line.Split(',');
            if (c.Length < 7 || !double.TryParse(c[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var t))
            {
                continue;
            }

            // cpu_usage is a percentage of one core.
            var cpu = double.TryParse(c[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var cp) ? cp / 100.0 : -1;
            list.Add(new RuntimeEvent
            {
                Kind = EventKind.ResourceUsage,
                Timestamp = DateTimeOffset.UnixEpoch.AddTicks((long)(t * TimeSpan.TicksPerSecond)),
                Node = "lid-ds",
                Workload = workload,
                Resource = new ResourceSample(cpu, LongOr(c[2]), LongOr(c[5]), LongOr(c[6])),
            });
        }

        return list;
    }

    private static long LongOr(string s) => long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : -1;
}
