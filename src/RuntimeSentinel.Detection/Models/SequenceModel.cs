using RuntimeSentinel.Detection.Sequences;

namespace RuntimeSentinel.Detection.Models;

/// <summary>
/// The syscall-sequence model of one workload: an n-gram model per executable that made enough calls while learning,
/// and one for the whole workload used for the rest. Syscall names map to small ids in a table stored with the model.
/// </summary>
public sealed class SequenceModel
{
    /// <summary>Calls an executable needs in training to get a model of its own.</summary>
    public const int MinCallsPerExecutable = 500;

    private readonly Dictionary<string, NgramModel> _byExe;

    public SequenceModel(IReadOnlyList<string> symbols, NgramModel workload, Dictionary<string, NgramModel> byExe, int window)
    {
        Symbols = symbols;
        Ids = symbols.Select((s, i) => (s, i)).ToDictionary(p => p.s, p => p.i, StringComparer.Ordinal);
        Workload = workload;
        _byExe = byExe;
        Window = window;
    }

    public IReadOnlyList<string> Symbols { get; }

    public IReadOnlyDictionary<string, int> Ids { get; }

    public NgramModel Workload { get; }

    public int Window { get; }

    public int Order => Workload.Order;

    public IEnumerable<string> Executables => _byExe.Keys;

    /// <summary>Memory held by the tables (see <see cref="NgramModel.EstimatedBytes"/>) plus the symbol and executable names.</summary>
    public long EstimatedBytes =>
        Workload.EstimatedBytes + _byExe.Sum(p => p.Value.EstimatedBytes + 64 + (2L * p.Key.Length)) + Symbols.Sum(s => 64 + (2L * s.Length));

    /// <summary>The same model with only the whole-workload table (every executable falls back to it).</summary>
    public SequenceModel WithoutExecutables() => new(Symbols, Workload, new Dictionary<string, NgramModel>(StringComparer.Ordinal), Window);

    public NgramModel For(string? exe) => exe is not null && _byExe.TryGetValue(exe, out var m) ? m : Workload;

    /// <summary>Id of a syscall name; names unknown to the model share the id past the table (never seen in training).</summary>
    public int Id(string name) => Ids.TryGetValue(name, out var id) ? id : Symbols.Count;

    public void Save(string path)
    {
        using var w = new BinaryWriter(File.Create(path));
        w.Write(Window);
        w.Write(Symbols.Count);
        foreach (var s in Symbols)
        {
            w.Write(s);
        }

        Workload.Save(w);
        w.Write(_byExe.Count);
        foreach (var (exe, m) in _byExe.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            w.Write(exe);
            m.Save(w);
        }
    }

    public static SequenceModel Load(string path)
    {
        using var r = new BinaryReader(File.OpenRead(path));
        var window = r.ReadInt32();
        var n = r.ReadInt32();
        if (window is < 1 or > 4096 || n < 0 || n > r.BaseStream.Length - r.BaseStream.Position)
        {
            throw new InvalidDataException($"sequence model header out of range (window {window}, {n} symbols)");
        }

        var symbols = new string[n];
        for (var i = 0; i < n; i++)
        {
            symbols[i] = r.ReadString();
        }

        var workload = NgramModel.Load(r);
        var exes = r.ReadInt32();
        if (exes < 0 || exes > r.BaseStream.Length - r.BaseStream.Position)
        {
            throw new InvalidDataException($"sequence model claims {exes} executables");
        }

        var byExe = new Dictionary<string, NgramModel>(StringComparer.Ordinal);
        for (var i = 0; i < exes; i++)
        {
            byExe[r.ReadString()] = NgramModel.Load(r);
        }

        return new SequenceModel(symbols, workload, byExe, window);
    }

    /// <summary>
    /// Trains on per-process call sequences (ids from <paramref name="symbols"/>), keyed by executable.
    /// </summary>
    public static SequenceModel Train(IReadOnlyList<string> symbols, IReadOnlyList<(string? Exe, int[] Calls)> processes, int order, int window)
    {
        var workload = new NgramModel(order);
        workload.Train(processes.Select(p => p.Calls));
        var byExe = new Dictionary<string, NgramModel>(StringComparer.Ordinal);
        foreach (var g in processes.Where(p => p.Exe is not null).GroupBy(p => p.Exe!, StringComparer.Ordinal))
        {
            if (g.Sum(p => p.Calls.Length) >= MinCallsPerExecutable)
            {
                var m = new NgramModel(order);
                m.Train(g.Select(p => p.Calls));
                byExe[g.Key] = m;
            }
        }

        return new SequenceModel(symbols, workload, byExe, window);
    }

    /// <summary>Mean surprise of every full window of <paramref name="calls"/> from <paramref name="from"/> on (context from the calls before).</summary>
    public IEnumerable<double> WindowScores(string? exe, int[] calls, int from)
    {
        var model = For(exe);
        var bits = new double[calls.Length];
        for (var i = Math.Max(0, from - Window); i < calls.Length; i++)
        {
            bits[i] = model.Surprisal(calls.AsSpan(Math.Max(0, i - Order + 1), Math.Min(i, Order - 1)), calls[i]);
        }

        double sum = 0;
        for (var i = 0; i < calls.Length; i++)
        {
            sum += bits[i];
            if (i >= Window)
            {
                sum -= bits[i - Window];
            }

            if (i >= from && i >= Window - 1)
            {
                yield return sum / Window;
            }
        }
    }
}
