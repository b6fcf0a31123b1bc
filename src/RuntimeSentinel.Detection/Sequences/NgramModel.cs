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

    private readonly Dictionary<ulong, Node>[] _orders;
    private int _vocabulary;

    public NgramModel(int order, double discount = 0.75)
    {
        if (order is < 1 or > 6)
        {
            throw new ArgumentOutOfRangeException(nameof(order), "1 to 6");
        }

        Order = order;
        Discount = discount;
        _orders = new Dictionary<ulong, Node>[order];
        for (var i = 0; i < order; i++)
        {
            _orders[i] = new Dictionary<ulong, Node>();
        }
    }

    public int Order { get; }

    public double Discount { get; }

    public void Train(IEnumerable<int[]> sequences)
    {
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
                    if (!_orders[k].TryGetValue(ctx, out var node))
                    {
                        node = new Node();
                        _orders[k][ctx] = node;
                    }

                    node.Add(symbol);
                }
            }
        }

        _vocabulary = seen.Count + 1;
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
        foreach (var level in _orders)
        {
            w.Write(level.Count);
            foreach (var (ctx, node) in level)
            {
                w.Write(ctx);
                node.Save(w);
            }
        }
    }

    public static NgramModel Load(BinaryReader r)
    {
        var m = new NgramModel(r.ReadInt32(), r.ReadDouble()) { _vocabulary = r.ReadInt32() };
        foreach (var level in m._orders)
        {
            var n = r.ReadInt32();
            for (var i = 0; i < n; i++)
            {
                level[r.ReadUInt64()] = Node.Load(r);
            }
        }

        return m;
    }

    private double Probability(ReadOnlySpan<int> seq, int i)
    {
        var symbol = seq[i];
        var p = 1.0 / _vocabulary;
        for (var k = 0; k < Order; k++)
        {
            if (!_orders[k].TryGetValue(Context(seq, i, k), out var node))
            {
                continue;
            }

            var count = node.CountOf(symbol);
            p = (Math.Max(count - Discount, 0) / node.Total) + (Discount * node.Types / node.Total * p);
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

    private sealed class Node
    {
        private readonly Dictionary<int, int> _counts = new();

        public int Total { get; private set; }

        public int Types => _counts.Count;

        public void Add(int symbol)
        {
            Total++;
            _counts[symbol] = _counts.GetValueOrDefault(symbol) + 1;
        }

        public int CountOf(int symbol) => _counts.GetValueOrDefault(symbol);

        public void Save(BinaryWriter w)
        {
            w.Write(_counts.Count);
            foreach (var (symbol, count) in _counts)
            {
                w.Write(symbol);
                w.Write(count);
            }
        }

        public static Node Load(BinaryReader r)
        {
            var node = new Node();
            var n = r.ReadInt32();
            for (var i = 0; i < n; i++)
            {
                var symbol = r.ReadInt32();
                var count = r.ReadInt32();
                node._counts[symbol] = count;
                node.Total += count;
            }

            return node;
        }
    }
}
