namespace RuntimeSentinel.Detection.Models;

/// <summary>What a finished learning period hands to training: behaviour windows and each process's syscalls as symbol ids.</summary>
public sealed record TrainingSet(
    IReadOnlyList<(float[] Vector, DateTimeOffset End)> Windows,
    IReadOnlyList<(string? Exe, int[] Calls)> Traces,
    IReadOnlyList<string> Symbols,
    DateTimeOffset From,
    DateTimeOffset To,
    long Events);

/// <summary>
/// What one workload collects while it learns: closed behaviour windows and each process's syscalls. Bounded (windows,
/// calls, symbols) and charged to the node's model memory budget a chunk at a time, so a flood of short windows or
/// processes is refused (counted) instead of growing. Owned by the workload's <see cref="ModelRuntime"/>.
/// </summary>
internal sealed class TrainingData(ModelOptions options, ModelMemoryBudget budget)
{
    /// <summary>Behaviour windows kept for training: 20,000 × 22 features × 4 bytes, at most about 1.8 MB.</summary>
    public const int MaxWindows = 20_000;

    private const int MaxSymbols = 1000;

    // Memory estimates charged to the budget (array headers, list slack and dictionary entries included).
    private const long WindowBytes = 24 + (4 * 22) + 24; // float[22] + list slot with its end time
    private const long CallBytes = 8;                    // an int in a List<int> that may have doubled
    private const long TraceBytes = 128;                 // a new process's list and dictionary entry
    private const long SymbolBytes = 96;                 // an interned syscall name's dictionary entry
    private const long Chunk = 64 * 1024;

    private List<(float[] Vector, DateTimeOffset End)> _windows = [];
    private readonly Dictionary<long, (string? Exe, List<int> Calls)> _traces = new();
    private readonly Dictionary<string, int> _symbols = new(StringComparer.Ordinal);
    private long _calls;
    private long _reserved, _used;

    /// <summary>When collection started (the workload's first event, or its last relearn).</summary>
    public DateTimeOffset From { get; private set; }

    /// <summary>Events seen while collecting (for the model card).</summary>
    public long Events { get; private set; }

    /// <summary>Bytes held reserved from the budget (training data, and shadow scores charged here).</summary>
    public long ReservedBytes => _reserved;

    /// <summary>Starts over from nothing at <paramref name="from"/> (first event, or a relearn): data, counts and memory.</summary>
    public void Restart(DateTimeOffset from)
    {
        Discard();
        _symbols.Clear();
        Events = 0;
        From = from;
    }

    public void CountEvent() => Events++;

    public void AddWindow(ReadOnlySpan<float> vector, DateTimeOffset end)
    {
        if (_windows.Count >= MaxWindows)
        {
            // Bounded (≈ 1.8 MB): a very long learning period keeps its later half (the more representative part).
            _used -= _windows.Count / 2 * WindowBytes;
            _windows.RemoveRange(0, _windows.Count / 2);
        }

        if (Charge(WindowBytes))
        {
            _windows.Add((vector.ToArray(), end));
        }
    }

    public void AddCall(long process, string? exe, string name)
    {
        if (_calls >= options.MaxTrainingCalls)
        {
            return;
        }

        if (!_symbols.TryGetValue(name, out var id))
        {
            if (_symbols.Count >= MaxSymbols || !Charge(SymbolBytes))
            {
                return;
            }

            _symbols[name] = id = _symbols.Count;
        }

        if (!_traces.TryGetValue(process, out var trace))
        {
            if (!Charge(TraceBytes))
            {
                return;
            }

            _traces[process] = trace = (exe, []);
        }

        if (Charge(CallBytes))
        {
            trace.Calls.Add(id);
            _calls++;
        }
    }

    /// <summary>A copy of what was collected, for training up to <paramref name="to"/>.</summary>
    public TrainingSet Snapshot(DateTimeOffset to) => new([.. _windows], Traces(), Symbols(), From, to, Events);

    private List<(string? Exe, int[] Calls)> Traces() => _traces.Values.Select(t => (t.Exe, t.Calls.ToArray())).ToList();

    private List<string> Symbols() => _symbols.OrderBy(p => p.Value).Select(p => p.Key).ToList();

    /// <summary>Hands the collection to a training job with its memory reservation; collection here starts empty again.</summary>
    public (TrainingSet Set, long Reserved) Take(DateTimeOffset to)
    {
        // The window list itself goes (up to 20,000 entries): no copy, and collection continues in a new one.
        var windows = _windows;
        _windows = [];
        var taken = (new TrainingSet(windows, Traces(), Symbols(), From, to, Events), _reserved);
        _reserved = _used = 0; // the job's now
        Discard();
        return taken;
    }

    /// <summary>Drops the windows and calls collected and gives their memory back (the symbol table stays for later calls).</summary>
    public void Discard()
    {
        _windows.Clear();
        _windows.TrimExcess();
        _traces.Clear();
        _traces.TrimExcess();
        _calls = 0;
        Release();
    }

    /// <summary>Gives back the reservation (training data, shadow scores) without touching what is held.</summary>
    public void Release()
    {
        budget.Release(_reserved);
        _reserved = _used = 0;
    }

    /// <summary>Charges memory to the budget, a chunk at a time; false (counted) when the budget is spent.</summary>
    public bool Charge(long bytes)
    {
        if (_used + bytes > _reserved)
        {
            var chunk = Math.Max(Chunk, bytes);
            if (!budget.TryReserve(chunk))
            {
                budget.Refused(MemoryRefusal.Training);
                return false;
            }

            _reserved += chunk;
        }

        _used += bytes;
        return true;
    }
}
