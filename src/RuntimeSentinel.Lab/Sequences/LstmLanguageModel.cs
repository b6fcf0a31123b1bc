using System.Numerics;
using System.Runtime.InteropServices;

namespace RuntimeSentinel.Lab.Sequences;

/// <summary>Hyper-parameters of <see cref="LstmLanguageModel"/>; defaults are the ones chosen on ADFA-LD normals.</summary>
public sealed record LstmOptions
{
    public int Embedding { get; init; } = 32;

    public int Hidden { get; init; } = 96;

    public int Epochs { get; init; } = 8;

    /// <summary>Truncated back-propagation length (steps); the state is carried across chunks of one sequence.</summary>
    public int Chunk { get; init; } = 48;

    /// <summary>Chunks per optimiser step; they are processed in parallel and their gradients summed in a fixed order.</summary>
    public int Batch { get; init; } = 16;

    public float LearningRate { get; init; } = 0.004f;

    public float GradientClip { get; init; } = 5f;

    public int Seed { get; init; } = 17;
}

/// <summary>
/// A syscall-sequence language model: one LSTM layer over learned syscall embeddings, predicting each call from
/// everything before it in the process. Unlike an n-gram table it carries state over the whole trace, which is what
/// separates an attack that reuses ordinary calls in an unusual order from a normal program. Trained with Adam and
/// truncated back-propagation; training is deterministic for a given seed (parallel gradients are summed in a fixed
/// order). Scores are negative log-likelihoods in bits.
/// </summary>
public sealed partial class LstmLanguageModel
{
    private const int Unknown = 0; // symbol index for calls never seen in training
    private const int Begin = 1;   // input-only symbol before the first call

    private readonly Dictionary<int, int> _index;
    private readonly int _vocab;
    private readonly int _e;
    private readonly int _h;
    private readonly int _in; // E + H

    // Parameters, flat: embedding [vocab×E], gates W [4H×(E+H)], gate bias [4H], output V [vocab×H], output bias [vocab].
    private readonly float[] _params;
    private readonly int _oEmb, _oW, _oB, _oV, _oBv;

    private LstmLanguageModel(Dictionary<int, int> index, int embedding, int hidden, float[]? parameters)
    {
        _index = index;
        _vocab = index.Count + 2;
        _e = embedding;
        _h = hidden;
        _in = embedding + hidden;
        _oEmb = 0;
        _oW = _oEmb + (_vocab * _e);
        _oB = _oW + (4 * _h * _in);
        _oV = _oB + (4 * _h);
        _oBv = _oV + (_vocab * _h);
        var total = _oBv + _vocab;
        if (parameters is not null && parameters.Length != total)
        {
            throw new InvalidDataException($"LSTM parameter count {parameters.Length} does not match the shape ({total})");
        }

        _params = parameters ?? new float[total];
    }

    public int Embedding => _e;

    public int Hidden => _h;

    public int Vocabulary => _index.Count;

    /// <summary>Trains a model on normal sequences. <paramref name="progress"/> receives the epoch number and its mean loss (bits).</summary>
    public static LstmLanguageModel Train(IReadOnlyList<int[]> sequences, LstmOptions options, Action<int, double>? progress = null, CancellationToken cancellationToken = default)
    {
        var index = new Dictionary<int, int>();
        foreach (var s in sequences)
        {
            foreach (var c in s)
            {
                if (!index.ContainsKey(c))
                {
                    index[c] = index.Count + 2;
                }
            }
        }

        var model = new LstmLanguageModel(index, options.Embedding, options.Hidden, null);
        model.Initialise(options.Seed);
        model.Fit(sequences, options, progress, cancellationToken);
        return model;
    }

    /// <summary>Per-call surprise (bits) of <paramref name="sequence"/>, written to <paramref name="bits"/> (same length).</summary>
    public void Surprise(ReadOnlySpan<int> sequence, Span<float> bits)
    {
        var state = new State(this);
        var input = Begin;
        for (var t = 0; t < sequence.Length; t++)
        {
            var target = Symbol(sequence[t]);
            bits[t] = (float)(-Math.Log2(Math.Max(state.Step(input, target), 1e-30)));
            input = target;
        }
    }

    /// <summary>Mean surprise (bits per call) of a whole sequence.</summary>
    public double Score(ReadOnlySpan<int> sequence)
    {
        if (sequence.Length == 0)
        {
            return 0;
        }

        var bits = sequence.Length <= 4096 ? stackalloc float[sequence.Length] : new float[sequence.Length];
        Surprise(sequence, bits);
        double sum = 0;
        foreach (var b in bits)
        {
            sum += b;
        }

        return sum / sequence.Length;
    }

    /// <summary>A streaming scorer that keeps one process's state; call <see cref="Stream.Next"/> per call.</summary>
    public Stream Open() => new(this);

    public void Save(BinaryWriter writer)
    {
        writer.Write(_e);
        writer.Write(_h);
        writer.Write(_index.Count);
        foreach (var (syscall, i) in _index.OrderBy(p => p.Value))
        {
            writer.Write(syscall);
        }

        writer.Write(_params.Length);
        foreach (var p in _params)
        {
            writer.Write(p);
        }
    }

    public static LstmLanguageModel Load(BinaryReader reader)
    {
        var e = reader.ReadInt32();
        var h = reader.ReadInt32();
        var n = reader.ReadInt32();
        if (e is < 1 or > 1024 || h is < 1 or > 4096 || n is < 0 or > 100_000)
        {
            throw new InvalidDataException("LSTM header out of range");
        }

        var index = new Dictionary<int, int>(n);
        for (var i = 0; i < n; i++)
        {
            index[reader.ReadInt32()] = i + 2;
        }

        var count = reader.ReadInt32();
        var p = new float[count];
        for (var i = 0; i < count; i++)
        {
            p[i] = reader.ReadSingle();
        }

        return new LstmLanguageModel(index, e, h, p);
    }

    private int Symbol(int syscall) => _index.TryGetValue(syscall, out var i) ? i : Unknown;

    private void Initialise(int seed)
    {
        var rng = new Random(seed);
        void Fill(int offset, int length, double scale)
        {
            for (var i = 0; i < length; i++)
            {
                _params[offset + i] = (float)(((rng.NextDouble() * 2) - 1) * scale);
            }
        }

        Fill(_oEmb, _vocab * _e, 0.1);
        Fill(_oW, 4 * _h * _in, 1 / Math.Sqrt(_in));
        Fill(_oV, _vocab * _h, 1 / Math.Sqrt(_h));

        // Forget-gate bias 1: remember by default, the usual remedy for vanishing gradients early in training.
        for (var j = 0; j < _h; j++)
        {
            _params[_oB + _h + j] = 1f;
        }
    }

    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var sum = Vector<float>.Zero;
        var i = 0;
        var va = MemoryMarshal.Cast<float, Vector<float>>(a);
        var vb = MemoryMarshal.Cast<float, Vector<float>>(b);
        for (var k = 0; k < va.Length; k++)
        {
            sum += va[k] * vb[k];
        }

        i = va.Length * Vector<float>.Count;
        var s = Vector.Sum(sum);
        for (; i < a.Length; i++)
        {
            s += a[i] * b[i];
        }

        return s;
    }

    // y += a·x
    private static void Axpy(float a, ReadOnlySpan<float> x, Span<float> y)
    {
        var vx = MemoryMarshal.Cast<float, Vector<float>>(x);
        var vy = MemoryMarshal.Cast<float, Vector<float>>(y);
        var va = new Vector<float>(a);
        for (var k = 0; k < vx.Length; k++)
        {
            vy[k] += va * vx[k];
        }

        for (var i = vx.Length * Vector<float>.Count; i < x.Length; i++)
        {
            y[i] += a * x[i];
        }
    }

    private static void Add(Span<float> y, ReadOnlySpan<float> x) => Axpy(1f, x, y);

    private static void Scale(Span<float> y, float a)
    {
        for (var i = 0; i < y.Length; i++)
        {
            y[i] *= a;
        }
    }

    private static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    /// <summary>Gate pre-activations for one step: z = W·[x; h] + b, x the embedding of <paramref name="input"/>.</summary>
    private void Gates(int input, ReadOnlySpan<float> hPrev, Span<float> z, Span<float> xh)
    {
        _params.AsSpan(_oEmb + (input * _e), _e).CopyTo(xh);
        hPrev.CopyTo(xh[_e..]);
        var w = _params.AsSpan(_oW, 4 * _h * _in);
        for (var r = 0; r < 4 * _h; r++)
        {
            z[r] = _params[_oB + r] + Dot(w.Slice(r * _in, _in), xh);
        }
    }

    /// <summary>Applies the gate non-linearities in place (i, f, g, o) and updates c and h.</summary>
    private void Cell(Span<float> z, ReadOnlySpan<float> cPrev, Span<float> c, Span<float> h)
    {
        for (var j = 0; j < _h; j++)
        {
            var i = Sigmoid(z[j]);
            var f = Sigmoid(z[_h + j]);
            var g = MathF.Tanh(z[(2 * _h) + j]);
            var o = Sigmoid(z[(3 * _h) + j]);
            z[j] = i;
            z[_h + j] = f;
            z[(2 * _h) + j] = g;
            z[(3 * _h) + j] = o;
            c[j] = (f * cPrev[j]) + (i * g);
            h[j] = o * MathF.Tanh(c[j]);
        }
    }

    /// <summary>Softmax over the output layer into <paramref name="p"/>; returns p[target].</summary>
    private float Output(ReadOnlySpan<float> h, Span<float> p, int target)
    {
        var vOut = _params.AsSpan(_oV, _vocab * _h);
        var max = float.NegativeInfinity;
        for (var k = 0; k < _vocab; k++)
        {
            p[k] = _params[_oBv + k] + Dot(vOut.Slice(k * _h, _h), h);
            max = MathF.Max(max, p[k]);
        }

        float sum = 0;
        for (var k = 0; k < _vocab; k++)
        {
            p[k] = MathF.Exp(p[k] - max);
            sum += p[k];
        }

        for (var k = 0; k < _vocab; k++)
        {
            p[k] /= sum;
        }

        return p[target];
    }

    private sealed class State
    {
        private readonly LstmLanguageModel _m;
        private readonly float[] _h, _c, _c2, _z, _xh, _p;

        public State(LstmLanguageModel m)
        {
            _m = m;
            _h = new float[m._h];
            _c = new float[m._h];
            _c2 = new float[m._h];
            _z = new float[4 * m._h];
            _xh = new float[m._in];
            _p = new float[m._vocab];
        }

        /// <summary>Feeds <paramref name="input"/> and returns the probability given to <paramref name="target"/>.</summary>
        public float Step(int input, int target)
        {
            _m.Gates(input, _h, _z, _xh);
            _m.Cell(_z, _c, _c2, _h);
            _c2.CopyTo(_c, 0);
            return _m.Output(_h, _p, target);
        }

        public void CopyState(Span<float> h, Span<float> c)
        {
            _h.CopyTo(h);
            _c.CopyTo(c);
        }
    }

    /// <summary>Streaming scorer of one process: keeps the LSTM state between calls.</summary>
    public sealed class Stream
    {
        private readonly State _state;
        private readonly LstmLanguageModel _m;
        private int _input = Begin;

        internal Stream(LstmLanguageModel m)
        {
            _m = m;
            _state = new State(m);
        }

        /// <summary>Surprise (bits) of <paramref name="syscall"/> given everything this stream has seen.</summary>
        public float Next(int syscall)
        {
            var target = _m.Symbol(syscall);
            var p = _state.Step(_input, target);
            _input = target;
            return (float)-Math.Log2(Math.Max(p, 1e-30));
        }
    }
}
