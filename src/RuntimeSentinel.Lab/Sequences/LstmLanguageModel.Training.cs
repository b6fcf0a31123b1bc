namespace RuntimeSentinel.Lab.Sequences;

/// <summary>Training: truncated back-propagation through time with Adam, on the shuffled training sequences.</summary>
public sealed partial class LstmLanguageModel
{
    private void Fit(IReadOnlyList<int[]> sequences, LstmOptions o, Action<int, double>? progress, CancellationToken ct)
    {
        // Each sequence is cut into chunks; a chunk starts from the state the previous chunk of the same sequence
        // ended with (recomputed without gradients at the start of each epoch pass over that sequence).
        var chunks = new List<(int Seq, int Start, int Length)>();
        for (var s = 0; s < sequences.Count; s++)
        {
            for (var start = 0; start < sequences[s].Length; start += o.Chunk)
            {
                chunks.Add((s, start, Math.Min(o.Chunk, sequences[s].Length - start)));
            }
        }

        var rng = new Random(o.Seed + 1);
        var m = new float[_params.Length];
        var v = new float[_params.Length];
        var workers = Math.Max(1, Math.Min(Environment.ProcessorCount, o.Batch));
        var grads = new float[workers][];
        var trainers = new Trainer[workers];
        for (var w = 0; w < workers; w++)
        {
            grads[w] = new float[_params.Length];
            trainers[w] = new Trainer(this, o.Chunk);
        }

        var order = Enumerable.Range(0, chunks.Count).ToArray();
        long step = 0;
        const float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
        for (var epoch = 1; epoch <= o.Epochs; epoch++)
        {
            rng.Shuffle(order);
            double lossSum = 0;
            long tokens = 0;
            for (var b = 0; b < order.Length; b += o.Batch)
            {
                ct.ThrowIfCancellationRequested();
                var batch = Math.Min(o.Batch, order.Length - b);
                var losses = new double[workers];
                var counts = new long[workers];
                Parallel.For(0, workers, w =>
                {
                    Array.Clear(grads[w]);
                    for (var k = w; k < batch; k += workers)
                    {
                        var (seq, start, length) = chunks[order[b + k]];
                        losses[w] += trainers[w].Run(sequences[seq], start, length, grads[w]);
                        counts[w] += length;
                    }
                });

                var g = grads[0];
                for (var w = 1; w < workers; w++)
                {
                    Add(g, grads[w]);
                }

                long batchTokens = 0;
                for (var w = 0; w < workers; w++)
                {
                    lossSum += losses[w];
                    batchTokens += counts[w];
                }

                tokens += batchTokens;
                Scale(g, 1f / batchTokens);
                var norm = MathF.Sqrt(Dot(g, g));
                if (norm > o.GradientClip)
                {
                    Scale(g, o.GradientClip / norm);
                }

                step++;
                var lr = o.LearningRate * MathF.Sqrt(1 - MathF.Pow(beta2, step)) / (1 - MathF.Pow(beta1, step));
                for (var i = 0; i < g.Length; i++)
                {
                    m[i] = (beta1 * m[i]) + ((1 - beta1) * g[i]);
                    v[i] = (beta2 * v[i]) + ((1 - beta2) * g[i] * g[i]);
                    _params[i] -= lr * m[i] / (MathF.Sqrt(v[i]) + eps);
                }
            }

            progress?.Invoke(epoch, lossSum / Math.Max(1, tokens) / Math.Log(2));
        }
    }

    /// <summary>Forward and backward pass over one chunk; holds per-step activations for back-propagation.</summary>
    private sealed class Trainer
    {
        private const int WarmUp = 64;
        private readonly LstmLanguageModel _m;
        private readonly float[][] _xh, _gates, _c, _h, _p;
        private readonly int[] _inputs, _targets;
        private readonly float[] _dh, _dc, _dz, _dxh, _dlogits;

        public Trainer(LstmLanguageModel m, int chunk)
        {
            _m = m;
            _xh = Jagged(chunk, m._in);
            _gates = Jagged(chunk, 4 * m._h);
            _c = Jagged(chunk + 1, m._h);
            _h = Jagged(chunk + 1, m._h);
            _p = Jagged(chunk, m._vocab);
            _inputs = new int[chunk];
            _targets = new int[chunk];
            _dh = new float[m._h];
            _dc = new float[m._h];
            _dz = new float[4 * m._h];
            _dxh = new float[m._in];
            _dlogits = new float[m._vocab];
        }

        private static float[][] Jagged(int n, int m) => Enumerable.Range(0, n).Select(_ => new float[m]).ToArray();

        /// <summary>Returns the chunk's summed loss (nats) and adds its gradient to <paramref name="grad"/>.</summary>
        public double Run(int[] seq, int start, int length, float[] grad)
        {
            var m = _m;
            var hd = m._h;

            // State at the chunk start: run the (current) model over the preceding calls without gradients. Capped
            // (the LSTM's memory fades within a few dozen calls anyway) so that long traces stay linear in cost.
            Array.Clear(_h[0]);
            Array.Clear(_c[0]);
            var warmFrom = Math.Max(0, start - WarmUp);
            if (start > 0)
            {
                var s = new State(m);
                var input = warmFrom == 0 ? Begin : m.Symbol(seq[warmFrom - 1]);
                for (var t = warmFrom; t < start; t++)
                {
                    var target = m.Symbol(seq[t]);
                    s.Step(input, target);
                    input = target;
                }

                s.CopyState(_h[0], _c[0]);
            }

            double loss = 0;
            for (var t = 0; t < length; t++)
            {
                _inputs[t] = start + t == 0 ? Begin : m.Symbol(seq[start + t - 1]);
                _targets[t] = m.Symbol(seq[start + t]);
                m.Gates(_inputs[t], _h[t], _gates[t], _xh[t]);
                m.Cell(_gates[t], _c[t], _c[t + 1], _h[t + 1]);
                loss -= Math.Log(Math.Max(m.Output(_h[t + 1], _p[t], _targets[t]), 1e-30f));
            }

            Array.Clear(_dh);
            Array.Clear(_dc);
            var gV = grad.AsSpan(m._oV, m._vocab * hd);
            var gW = grad.AsSpan(m._oW, 4 * hd * m._in);
            var wAll = m._params.AsSpan(m._oW, 4 * hd * m._in);
            var vAll = m._params.AsSpan(m._oV, m._vocab * hd);
            for (var t = length - 1; t >= 0; t--)
            {
                var p = _p[t];
                var h = _h[t + 1];
                for (var k = 0; k < m._vocab; k++)
                {
                    _dlogits[k] = p[k] - (k == _targets[t] ? 1f : 0f);
                }

                // Output layer: dV += dlogits ⊗ h, dh += Vᵀ·dlogits. Skipping near-zero rows keeps this cheap,
                // since most of the softmax mass sits on a handful of calls.
                for (var k = 0; k < m._vocab; k++)
                {
                    var d = _dlogits[k];
                    if (MathF.Abs(d) < 1e-6f)
                    {
                        continue;
                    }

                    grad[m._oBv + k] += d;
                    Axpy(d, h, gV.Slice(k * hd, hd));
                    Axpy(d, vAll.Slice(k * hd, hd), _dh);
                }

                var z = _gates[t];
                var cPrev = _c[t];
                var c = _c[t + 1];
                for (var j = 0; j < hd; j++)
                {
                    var i = z[j];
                    var f = z[hd + j];
                    var g = z[(2 * hd) + j];
                    var o = z[(3 * hd) + j];
                    var tc = MathF.Tanh(c[j]);
                    var dcj = _dc[j] + (_dh[j] * o * (1 - (tc * tc)));
                    _dz[j] = dcj * g * i * (1 - i);
                    _dz[hd + j] = dcj * cPrev[j] * f * (1 - f);
                    _dz[(2 * hd) + j] = dcj * i * (1 - (g * g));
                    _dz[(3 * hd) + j] = _dh[j] * tc * o * (1 - o);
                    _dc[j] = dcj * f;
                }

                Array.Clear(_dxh);
                var xh = _xh[t];
                for (var r = 0; r < 4 * hd; r++)
                {
                    var d = _dz[r];
                    grad[m._oB + r] += d;
                    Axpy(d, xh, gW.Slice(r * m._in, m._in));
                    Axpy(d, wAll.Slice(r * m._in, m._in), _dxh);
                }

                Add(grad.AsSpan(m._oEmb + (_inputs[t] * m._e), m._e), _dxh.AsSpan(0, m._e));
                _dxh.AsSpan(m._e, hd).CopyTo(_dh);
            }

            return loss;
        }
    }
}
