using System.Security.Cryptography;
using System.Text;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Detection.Models;

/// <summary>
/// The per-workload behaviour vector of one time window. The feature list is the schema a model is trained
/// against; its fingerprint goes into every model card, and a model trained on another schema is refused.
/// Counts and byte totals enter as log(1+x), which keeps a busy window and a quiet one on comparable scales.
/// </summary>
internal static class BehaviourSchema
{
    /// <summary>Bumped when the meaning of a feature changes without its name changing.</summary>
    public const int Version = 1;

    public static readonly string[] Features =
    [
        "events", "exec", "exit", "file_open", "file_write", "syscall", "connect", "accept", "listen", "dns",
        "distinct_exe", "distinct_file", "distinct_destination", "new_exe_ratio", "new_file_ratio",
        "new_destination_ratio", "bytes_out", "bytes_in", "failed_ratio", "destination_entropy", "cpu_cores",
        "memory_mib",
    ];

    public static int Index(string name) => Array.IndexOf(Features, name);

    /// <summary>Features that count events or distinct items in a window (entered as log(1+x)).</summary>
    public static bool IsCount(string name) => Index(name) is >= 0 and <= 12;

    private static readonly string[] Startup =
    [
        "events", "exec", "exit", "file_open", "file_write", "syscall", "listen", "distinct_exe", "distinct_file", "new_exe_ratio",
        "new_file_ratio", "cpu_cores", "memory_mib", "connect", "accept", "dns", "distinct_destination", "destination_entropy",
    ];

    /// <summary>
    /// Features a container start moves: processes, files, CPU and memory, and the connections a new replica's pools
    /// open and receive. Not volumes, failures or new peers.
    /// </summary>
    public static bool IsStartupFeature(string feature) => Array.IndexOf(Startup, feature) >= 0;

    private static readonly string[] Session =
    [
        "events", "exec", "exit", "file_open", "syscall", "distinct_exe", "distinct_file", "new_exe_ratio", "new_file_ratio",
    ];

    /// <summary>Features someone's diagnosis in a container moves: processes started and ended, files read. Not writes or the network.</summary>
    public static bool IsSessionFeature(string feature) => Array.IndexOf(Session, feature) >= 0;

    /// <summary>Series that also get a spike detector, and the smallest spread each assumes.</summary>
    public static readonly (string Feature, double MinScale)[] Series =
    [
        ("exec", 0.5), ("connect", 0.5), ("bytes_out", 0.5), ("failed_ratio", 0.05), ("cpu_cores", 0.05), ("memory_mib", 16),
    ];

    public static string Fingerprint { get; } = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(
        $"behaviour/v{Version}:{string.Join(',', Features)}|sequence/ngram-v1|spike/mad-v1")))[..16];
}

/// <summary>
/// Accumulates one workload's events into the current window's raw feature values. Reused across windows; distinct
/// sets are capped (an attacker flooding unique paths saturates the count instead of memory).
/// </summary>
internal sealed class BehaviourWindow
{
    private const int DistinctCap = 1024;

    private readonly HashSet<string> _exes = new(StringComparer.Ordinal);
    private readonly HashSet<string> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _destinations = new(StringComparer.Ordinal);
    private readonly double[] _raw = new double[BehaviourSchema.Features.Length];
    private long _newExe, _newFile, _newDest, _withResult, _failed;
    private double _cpuSum, _memSum;
    private int _cpuN, _memN;

    public long Events { get; private set; }

    /// <summary>Events worth showing if the window alerts: the first ones with a new item, and the busiest resource sample.</summary>
    public List<RuntimeEvent> Notable { get; } = new(4);

    private int _resourceSample = -1;

    // One example event per feature (the latest of its kind, the largest transfer), for explaining an alert on a window
    // whose items were all known. Two buffers swapped at Close: the closed window's stay readable, nothing allocates.
    private RuntimeEvent[] _examples = new RuntimeEvent[BehaviourSchema.Features.Length];
    private RuntimeEvent[] _closedExamples = new RuntimeEvent[BehaviourSchema.Features.Length];

    /// <summary>An example event of the window just closed for a feature (index), or null when it had none.</summary>
    public RuntimeEvent? ClosedExample(int feature) => _closedExamples[feature].Kind == EventKind.Unknown ? null : _closedExamples[feature];

    private readonly int[] _majorityKey = new int[BehaviourSchema.Features.Length];
    private readonly int[] _majorityCount = new int[BehaviourSchema.Features.Length];

    /// <summary>
    /// Keeps, per feature, an event of what made most of it: a Boyer-Moore majority vote over (process, peer), so a
    /// burst from one process shows that process, not whichever event came last. O(1), nothing allocated.
    /// </summary>
    private void Example(int feature, in RuntimeEvent e)
    {
        var key = HashCode.Combine(e.Process.Pid, e.Process.Exe, e.Net.RemoteIp);
        if (_majorityCount[feature] == 0)
        {
            _majorityKey[feature] = key;
            _majorityCount[feature] = 1;
            _examples[feature] = e;
        }
        else if (_majorityKey[feature] == key)
        {
            _majorityCount[feature]++;
            _examples[feature] = e;
        }
        else
        {
            _majorityCount[feature]--;
        }
    }

    /// <summary>Adds an event; <paramref name="known"/> says whether the baseline already knew its main item.</summary>
    public void Add(in RuntimeEvent e, bool known)
    {
        Events++;
        if (!known && Notable.Count < 3)
        {
            Notable.Add(e);
        }

        switch (e.Kind)
        {
            case EventKind.ProcessExec:
                _raw[1]++;
                Example(1, e);
                if (e.Process.Exe is { } exe && _exes.Count < DistinctCap)
                {
                    _exes.Add(exe);
                }

                _newExe += known ? 0 : 1;
                break;
            case EventKind.ProcessExit:
                _raw[2]++;
                break;
            case EventKind.FileOpen:
                _raw[3]++;
                Example(3, e);
                if (IsWrite(e.FileFlags))
                {
                    _raw[4]++;
                }

                if (e.FilePath is { } p && _files.Count < DistinctCap)
                {
                    _files.Add(p);
                }

                _newFile += known ? 0 : 1;
                break;
            case EventKind.Syscall:
                _raw[5]++;
                break;
            case EventKind.NetConnect:
                _raw[6]++;
                Example(6, e);
                if (e.Net.RemoteIp is { } ip && (_destinations.Count < DistinctCap || _destinations.ContainsKey(ip)))
                {
                    _destinations[ip] = _destinations.GetValueOrDefault(ip) + 1;
                }

                _newDest += known ? 0 : 1;
                break;
            case EventKind.NetAccept:
                _raw[7]++;
                Example(7, e);
                break;
            case EventKind.NetListen:
                _raw[8]++;
                break;
            case EventKind.DnsQuery:
                _raw[9]++;
                Example(9, e);
                break;
            case EventKind.ResourceUsage:
                if (e.Resource.CpuCores >= 0)
                {
                    _cpuSum += e.Resource.CpuCores;
                    _cpuN++;
                    if (_resourceSample < 0)
                    {
                        _resourceSample = Notable.Count;
                        Notable.Add(e);
                    }
                    else if (e.Resource.CpuCores > Notable[_resourceSample].Resource.CpuCores)
                    {
                        Notable[_resourceSample] = e;
                    }
                }

                if (e.Resource.MemoryBytes >= 0)
                {
                    _memSum += e.Resource.MemoryBytes / 1048576.0;
                    _memN++;
                }

                break;
        }

        // For volumes, the largest single transfer is the example.
        if (e.Net.BytesOut > 0 && e.Net.BytesOut >= _examples[16].Net.BytesOut)
        {
            _examples[16] = e;
        }

        if (e.Net.BytesIn > 0 && e.Net.BytesIn >= _examples[17].Net.BytesIn)
        {
            _examples[17] = e;
        }

        if (e.ReturnCode is < 0)
        {
            Example(18, e);
        }

        _raw[16] += Math.Max(0, e.Net.BytesOut);
        _raw[17] += Math.Max(0, e.Net.BytesIn);
        if (e.ReturnCode is { } rc)
        {
            _withResult++;
            _failed += rc < 0 ? 1 : 0;
        }
    }

    /// <summary>The feature vector of the window so far, without closing it (for alert context).</summary>
    public void Peek(Span<float> vector, double lastCpu, double lastMemory)
    {
        Fill(vector, ref lastCpu, ref lastMemory);
    }

    /// <summary>
    /// What is unusual in the window so far: its features furthest above the training mean of <paramref name="scaler"/>
    /// (at least 2 standard deviations), unscaled, with their share of the squared distance; for the context of an
    /// alert raised by another detector.
    /// </summary>
    public IReadOnlyList<FeatureContribution> Context(FeatureScaler scaler, double lastCpu, double lastMemory, int top)
    {
        Span<float> v = stackalloc float[BehaviourSchema.Features.Length];
        Peek(v, lastCpu, lastMemory);
        var z = new double[v.Length];
        for (var i = 0; i < v.Length; i++)
        {
            z[i] = (v[i] - scaler.Mean[i]) / scaler.Scale[i];
        }

        var total = z.Sum(x => x * x);
        var values = v.ToArray();
        return Enumerable.Range(0, z.Length)
            .Where(i => z[i] >= 2) // the window is still open: only what is already above normal means something
            .OrderByDescending(i => z[i])
            .Take(top)
            .Select(i => new FeatureContribution(BehaviourSchema.Features[i], Unscale(i, values[i]), Unscale(i, scaler.Mean[i]), total > 0 ? z[i] * z[i] / total : 0))
            .ToList();
    }

    /// <summary>Writes the window's feature vector (schema order) and starts a new window.</summary>
    public void Close(Span<float> vector, ref double lastCpu, ref double lastMemory)
    {
        Fill(vector, ref lastCpu, ref lastMemory);
        Reset();
    }

    private void Fill(Span<float> vector, ref double lastCpu, ref double lastMemory)
    {
        _raw[0] = Events;
        _raw[10] = _exes.Count;
        _raw[11] = _files.Count;
        _raw[12] = _destinations.Count;
        _raw[13] = _raw[1] > 0 ? _newExe / _raw[1] : 0;
        _raw[14] = _raw[3] > 0 ? _newFile / _raw[3] : 0;
        _raw[15] = _raw[6] > 0 ? _newDest / _raw[6] : 0;
        _raw[18] = _withResult > 0 ? _failed / (double)_withResult : 0;
        _raw[19] = Entropy();

        // Resource samples arrive every few windows; a window without one carries the last value forward.
        lastCpu = _cpuN > 0 ? _cpuSum / _cpuN : lastCpu;
        lastMemory = _memN > 0 ? _memSum / _memN : lastMemory;
        _raw[20] = lastCpu;
        _raw[21] = lastMemory;
        for (var i = 0; i < _raw.Length; i++)
        {
            vector[i] = (float)(IsLogScaled(i) ? Math.Log(1 + _raw[i]) : _raw[i]);
        }
    }

    /// <summary>Counts, sizes and totals are log-scaled; ratios, entropy and resources are not.</summary>
    public static bool IsLogScaled(int feature) => feature is <= 12 or 16 or 17;

    /// <summary>The raw (unscaled) value of a stored feature, for explanations.</summary>
    public static double Unscale(int feature, double value) => IsLogScaled(feature) ? Math.Exp(value) - 1 : value;

    private double Entropy()
    {
        var total = 0;
        foreach (var c in _destinations.Values)
        {
            total += c;
        }

        double h = 0;
        foreach (var c in _destinations.Values)
        {
            var p = c / (double)total;
            h -= p * Math.Log2(p);
        }

        return h;
    }

    private void Reset()
    {
        (_examples, _closedExamples) = (_closedExamples, _examples);
        Array.Clear(_examples);
        Array.Clear(_majorityCount);
        Notable.Clear();
        _resourceSample = -1;
        Array.Clear(_raw);
        _exes.Clear();
        _files.Clear();
        _destinations.Clear();
        _newExe = _newFile = _newDest = _withResult = _failed = 0;
        _cpuSum = _memSum = 0;
        _cpuN = _memN = 0;
        Events = 0;
    }

    private static bool IsWrite(string? flags) =>
        flags is not null && (flags.Contains("WR", StringComparison.OrdinalIgnoreCase) || flags.Contains("CREAT", StringComparison.OrdinalIgnoreCase) || flags.Contains("TRUNC", StringComparison.OrdinalIgnoreCase) || flags.Contains('w'));
}
