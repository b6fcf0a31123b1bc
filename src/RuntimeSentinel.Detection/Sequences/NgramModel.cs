namespace RuntimeSentinel.Detection.Sequences;

/// <summary>
/// A syscall-sequence language model: n-gram counts with interpolated absolute discounting (each order's estimate
/// is discounted by <see cref="Discount"/> and the mass given to the next lower order, down to a uniform
/// distribution over the vocabulary plus one unseen symbol). Scores a sequence by the negative log-likelihood (bits)
/// of each call given the calls before it. Symbols are small integers (syscall ids); contexts are packed into a
/// 64-bit key, 10 bits per symbol, so n ≤ 6 and ids &lt; 1023.
/// </summary>
public sealed class NgramModel
{
    private const int Bits = 10;
    private const int Start = (1 << Bits) - 1; // padding before the first call

    // Frozen layout: a trained model is read on every syscall of every scored process and kept for every workload,
    // so counts live in flat arrays rather than a dictionary per context (about 5x smaller, measured on ADFA-LD).
    // Context c of order k is node _index[k][c]; its successors are _symbols/_counts[_nodeStart[n].._nodeStart[n+1]),
    // sorted by symbol.
    private readonly Dictionary<ulong, int>[] _index;
    private int[] _nodeStart = [0];
    private int[] _nodeTotal = [];
    private ushort[] _symbols = [];
    private int[] _counts = [];
    private int _vocabulary;
    private bool _trained;

    public NgramModel(int order, double discount = 0.75)
    {
        if (order is < 1 or > 6)
        {
            throw new ArgumentOutOfRangeException(nameof(order), "1 to 6");
        }

        Order = order;
        Discount = discount;
        _index = new Dictionary<ulong, int>[order];
        for (var i = 0; i < order; i++)
        {
            _index[i] = new Dictionary<ulong, int>();
        }
    }

    public int Order { get; }

    public double Discount { get; }

    /// <summary>Contexts held over all orders.</summary>
    public int Contexts => _nodeTotal.Length;

    /// <summary>
    /// Memory held by the tables: per context a dictionary entry (key, value, hash, next: 24 bytes, a 4-byte bucket,
    /// prime-size slack) and two ints; per (context, next call) pair a 2-byte symbol and a 4-byte count. Rounded up so
    /// it does not undercount what the GC reports (measured: within 10 % of a trained model on ADFA-LD, orders 3-6).
    /// </summary>
    public long EstimatedBytes => (Contexts * 44L) + (_symbols.Length * 8L) + 256;

    /// <summary>Counts the n-grams of <paramref name="sequences"/>. A model is trained once (it is frozen afterwards).</summary>
    public void Train(IEnumerable<int[]> sequences)
    {
        if (_trained)
        {
            throw new InvalidOperationException("the model is already trained");
        }

        var levels = new Dictionary<ulong, Dictionary<int, int>>[Order];
        for (var k = 0; k < Order; k++)
        {
            levels[k] = new Dictionary<ulong, Dictionary<int, int>>();
        }

        var seen = new HashSet<int>();
        foreach (var seq in sequences)
        {
            for (var i = 0; i < seq.Length; i++)
            {
                var symbol = Check(seq[i]);
                seen.Add(symbol);
                for (var k = 0; k < Order; k++)
                {
                    var ctx = Context(seq, i, k);
                    if (!levels[k].TryGetValue(ctx, out var next))
                    {
                        levels[k][ctx] = next = new Dictionary<int, int>();
                    }

                    next[symbol] = next.GetValueOrDefault(symbol) + 1;
                }
            }
        }

        Freeze(seen.Count + 1, levels.Select(l => l.Select(kv => (kv.Key, kv.Value.Select(p => (p.Key, p.Value)).ToList())).ToList()).ToList());
    }

    /// <summary>Bits of surprise of each call of <paramref name="seq"/> given its predecessors.</summary>
    public double[] Surprisal(int[] seq)
    {
        var result = new double[seq.Length];
        for (var i = 0; i < seq.Length; i++)
        {
            result[i] = -Math.Log2(Probability(seq, i));
        }

        return result;
    }

    /// <summary>Mean surprisal per call: the sequence's cross-entropy under the model.</summary>
    public double MeanSurprisal(int[] seq) => seq.Length == 0 ? 0 : Surprisal(seq).Average();

    /// <summary>
    /// Bits of surprise of <paramref name="symbol"/> after <paramref name="history"/> (oldest first; only the last
    /// Order-1 calls matter). A shorter history reads as the start of the process. Used by the online scorer.
    /// </summary>
    public double Surprisal(ReadOnlySpan<int> history, int symbol)
    {
        Span<int> seq = stackalloc int[Order];
        var k = Math.Min(history.Length, Order - 1);
        history[^k..].CopyTo(seq);
        seq[k] = symbol;
        return -Math.Log2(Probability(seq[..(k + 1)], k));
    }

    public void Save(BinaryWriter w)
    {
        w.Write(Order);
        w.Write(Discount);
        w.Write(_vocabulary);
        foreach (var level in _index)
        {
            w.Write(level.Count);
            foreach (var (ctx, node) in level)
            {
                w.Write(ctx);
                var from = _nodeStart[node];
                var to = _nodeStart[node + 1];
                w.Write(to - from);
                for (var j = from; j < to; j++)
                {
                    w.Write((int)_symbols[j]);
                    w.Write(_counts[j]);
                }
            }
        }
    }

    public static NgramModel Load(BinaryReader r)
    {
        var order = r.ReadInt32();
        var discount = r.ReadDouble();
        if (order is < 1 or > 6 || !(discount is >= 0 and < 1))
        {
            throw new InvalidDataException($"n-gram order {order} or discount {discount} out of range");
        }

        var m = new NgramModel(order, discount);
        var vocabulary = r.ReadInt32();
        var levels = new List<List<(ulong, List<(int, int)>)>>(m.Order);
        for (var k = 0; k < m.Order; k++)
        {
            // Each context takes at least 12 bytes: a count larger than what is left is corrupt, not an allocation.
            var n = r.ReadInt32();
            if (n < 0 || n > Remaining(r) / 12)
            {
                throw new InvalidDataException($"n-gram level {k} claims {n} contexts");
            }

            var level = new List<(ulong, List<(int, int)>)>(n);
            for (var i = 0; i < n; i++)
            {
                var ctx = r.ReadUInt64();
                var pairs = r.ReadInt32();
                if (pairs < 0 || pairs > Start || pairs > Remaining(r) / 8)
                {
                    throw new InvalidDataException($"n-gram context with {pairs} successors");
                }

                var next = new List<(int, int)>(pairs);
                for (var j = 0; j < pairs; j++)
                {
                    next.Add((Check(r.ReadInt32()), r.ReadInt32()));
                }

                level.Add((ctx, next));
            }

            levels.Add(level);
        }

        m.Freeze(vocabulary, levels);
        return m;
    }

    private static long Remaining(BinaryReader r) => r.BaseStream.CanSeek ? r.BaseStream.Length - r.BaseStream.Position : long.MaxValue;

    private void Freeze(int vocabulary, List<List<(ulong Context, List<(int Symbol, int Count)> Next)>> levels)
    {
        var contexts = levels.Sum(l => l.Count);
        var pairs = levels.Sum(l => l.Sum(c => c.Next.Count));
        _nodeStart = new int[contexts + 1];
        _nodeTotal = new int[contexts];
        _symbols = new ushort[pairs];
        _counts = new int[pairs];
        var node = 0;
        var at = 0;
        for (var k = 0; k < Order; k++)
        {
            _index[k] = new Dictionary<ulong, int>(levels[k].Count);
            foreach (var (ctx, next) in levels[k])
            {
                _index[k][ctx] = node;
                _nodeStart[node] = at;
                foreach (var (symbol, count) in next.OrderBy(p => p.Symbol))
                {
                    _symbols[at] = (ushort)symbol;
                    _counts[at] = count;
                    _nodeTotal[node] += count;
                    at++;
                }

                node++;
            }
        }

        _nodeStart[node] = at;
        _vocabulary = vocabulary;
        _trained = true;
    }

    private double Probability(ReadOnlySpan<int> seq, int i)
    {
        var symbol = seq[i];
        var p = 1.0 / _vocabulary;
        for (var k = 0; k < Order; k++)
        {
            if (!_index[k].TryGetValue(Context(seq, i, k), out var node))
            {
                continue;
            }

            var from = _nodeStart[node];
            var types = _nodeStart[node + 1] - from;
            var at = symbol is >= 0 and < Start ? _symbols.AsSpan(from, types).BinarySearch((ushort)symbol) : -1;
            var count = at >= 0 ? _counts[from + at] : 0;
            var total = _nodeTotal[node];
            p = (Math.Max(count - Discount, 0) / total) + (Discount * types / total * p);
        }

        return p;
    }

    /// <summary>The k calls before position i, packed (k = 0: the empty context).</summary>
    private static ulong Context(ReadOnlySpan<int> seq, int i, int k)
    {
        ulong key = (ulong)k;
        for (var j = 1; j <= k; j++)
        {
            var s = i - j >= 0 ? seq[i - j] : Start;
            key = (key << Bits) | (uint)s;
        }

        return key;
    }

    private static int Check(int symbol) =>
        symbol is >= 0 and < Start ? symbol : throw new ArgumentOutOfRangeException(nameof(symbol), symbol, "symbols must be 0-1022");
}
