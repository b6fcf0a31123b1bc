using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using RuntimeSentinel.Core.Alerts;

namespace RuntimeSentinel.Detection.Models;

/// <summary>
/// ML.NET <c>RandomizedPca</c> anomaly detector over behaviour vectors. Features are standardised first (training mean
/// and standard deviation, with a floor so a constant feature cannot turn a wiggle into an infinite z). The score is
/// the part of a vector the learned principal subspace cannot explain (see <see cref="Score"/>).
/// Explanations use the model's own eigenvectors: each feature's share of the squared reconstruction residual.
/// </summary>
public sealed class PcaDetector
{
    /// <summary>
    /// Estimated memory of one detector in service: the loaded transformer, its prediction engine and the copies of
    /// eigenvectors and mean (measured: 24-28 KB with 22 features).
    /// </summary>
    public const long EstimatedBytes = 32 * 1024;

    // Detectors in service share one context: a context of their own cost about 150 KB each (measured), the seed only
    // matters for training, and context operations (load, save, engine creation) are rare, so a lock serialises them.
    private static readonly MLContext Serving = new(seed: 0);
    private static readonly Lock ServingLock = new();

    private readonly MLContext _ml;
    private readonly ITransformer _model;
    private readonly SchemaDefinition _schema;
    private readonly PredictionEngine<Row, Output> _engine;
    private readonly float[][] _eigen;
    private readonly float[] _pcaMean;
    private readonly float[] _input;
    private readonly double[] _residual;

    private PcaDetector(MLContext ml, ITransformer model, FeatureScaler scaler)
    {
        _ml = ml;
        _model = model;
        Scaler = scaler;
        _schema = Schema(scaler.Count);
        _engine = ml.Model.CreatePredictionEngine<Row, Output>(model, inputSchemaDefinition: _schema);
        // A freshly trained transformer is typed by its parameters; a loaded one only by IPredictorProducing<float>.
        var parameters = model switch
        {
            IPredictionTransformer<object> { Model: PcaModelParameters p } => p,
            _ => throw new InvalidDataException($"model is not an ML.NET RandomizedPca anomaly detector ({model.GetType()})"),
        };
        VBuffer<float>[] vectors = [];
        parameters.GetEigenVectors(ref vectors, out var rank);
        Rank = rank;
        _eigen = vectors.Take(rank).Select(v => v.DenseValues().ToArray()).ToArray();
        var mean = default(VBuffer<float>);
        parameters.GetMean(ref mean);
        _pcaMean = mean.Length == 0 ? new float[scaler.Count] : mean.DenseValues().ToArray();
        _input = new float[scaler.Count];
        _residual = new double[scaler.Count];
    }

    internal FeatureScaler Scaler { get; }

    public int Rank { get; }

    /// <summary>Trains on behaviour vectors (raw units). <paramref name="rank"/> is capped by the data's size.</summary>
    public static PcaDetector Train(IReadOnlyList<float[]> vectors, IReadOnlyList<string> featureNames, int rank, int seed)
    {
        if (vectors.Count < 3)
        {
            throw new ArgumentException("at least 3 vectors are needed to train", nameof(vectors));
        }

        var scaler = FeatureScaler.Fit(vectors, featureNames);
        var ml = new MLContext(seed);
        var rows = vectors.Select(v => new Row { Features = scaler.Transform(v) }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows, Schema(scaler.Count));

        // Features that never moved (a workload that never listens) add no dimensions; asking randomized SVD for
        // more components than the data has makes ML.NET return NaN eigenvectors, so rank and oversampling are
        // capped by the moving features, and lowered further if ML.NET still refuses.
        var moving = Enumerable.Range(0, scaler.Count).Count(i => rows.Any(r => r.Features[i] != rows[0].Features[i]));
        var k = Math.Clamp(rank, 1, Math.Max(1, Math.Min(moving - 1, vectors.Count - 2)));
        while (true)
        {
            var trainer = ml.AnomalyDetection.Trainers.RandomizedPca(new RandomizedPcaTrainer.Options
            {
                FeatureColumnName = nameof(Row.Features),
                Rank = k,
                Oversampling = Math.Clamp(moving - k, 1, 20),
                EnsureZeroMean = true,
                Seed = seed,
            });
            try
            {
                // What is served is exactly what would be saved: the trained transformer round-trips through its zip
                // into the shared serving context (the training context, with its seed, is then released).
                var trained = trainer.Fit(data);
                using var zip = new MemoryStream();
                ml.Model.Save(trained, data.Schema, zip);
                zip.Position = 0;
                return Load(zip, scaler);
            }
            catch (ArgumentOutOfRangeException) when (k > 1)
            {
                k--;
            }
        }
    }

    /// <summary>
    /// Anomaly score of one raw vector: the length of its residual off the learned subspace (the Q statistic, in
    /// standard deviations), computed from the eigenvectors ML.NET's RandomizedPca learned. ML.NET's own score is that
    /// residual divided by the vector's distance from the mean, a pure angle: a tiny wiggle in an odd direction would
    /// score like a huge one (and at the mean its 0/0 is NaN).
    /// </summary>
    public double Score(ReadOnlySpan<float> raw)
    {
        Scaler.Transform(raw, _input);
        var residual = Residual(_input);
        double q = 0;
        foreach (var r in residual)
        {
            q += r * r;
        }

        return Math.Sqrt(q);
    }

    /// <summary>The standardised vector's residual off the learned subspace (a buffer reused by the next call).</summary>
    private double[] Residual(ReadOnlySpan<float> z)
    {
        var residual = _residual;
        for (var i = 0; i < residual.Length; i++)
        {
            residual[i] = z[i] - _pcaMean[i];
        }

        foreach (var u in _eigen)
        {
            Remove(residual, u);
        }

        return residual;

        static void Remove(double[] v, ReadOnlySpan<float> u)
        {
            double proj = 0;
            for (var i = 0; i < v.Length; i++)
            {
                proj += u[i] * v[i];
            }

            for (var i = 0; i < v.Length; i++)
            {
                v[i] -= proj * u[i];
            }
        }
    }

    /// <summary>The features that make up most of the residual, largest share first.</summary>
    public IReadOnlyList<FeatureContribution> Explain(ReadOnlySpan<float> raw, int top)
    {
        Scaler.Transform(raw, _input);
        var residual = (double[])Residual(_input).Clone();
        var total = residual.Sum(r => r * r);
        if (total <= 0)
        {
            return [];
        }

        var copy = raw.ToArray();
        return Enumerable.Range(0, residual.Length)
            .OrderByDescending(i => residual[i] * residual[i])
            .Take(top)
            .Select(i => new FeatureContribution(Scaler.Names[i], copy[i], Scaler.Mean[i], residual[i] * residual[i] / total))
            .ToList();
    }

    /// <summary>Writes the ML.NET model (zip) to <paramref name="path"/>; the scaler belongs in the model card.</summary>
    public void Save(string path)
    {
        lock (ServingLock)
        {
            var schema = _ml.Data.LoadFromEnumerable(Array.Empty<Row>(), _schema).Schema;
            _ml.Model.Save(_model, schema, path);
        }
    }

    internal static PcaDetector Load(string path, FeatureScaler scaler)
    {
        using var file = File.OpenRead(path);
        return Load(file, scaler);
    }

    private static PcaDetector Load(Stream zip, FeatureScaler scaler)
    {
        lock (ServingLock)
        {
            return new PcaDetector(Serving, Serving.Model.Load(zip, out _), scaler);
        }
    }

    private static SchemaDefinition Schema(int features)
    {
        var def = SchemaDefinition.Create(typeof(Row));
        def[nameof(Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, features);
        return def;
    }

    private sealed class Row
    {
        public float[] Features { get; set; } = [];
    }

    private sealed class Output
    {
        public float Score { get; set; }

        public bool PredictedLabel { get; set; }
    }
}

/// <summary>Per-feature standardisation learned from training vectors; stored in the model card.</summary>
internal sealed record FeatureScaler(string[] Names, double[] Mean, double[] Scale)
{
    public int Count => Names.Length;

    public static FeatureScaler Fit(IReadOnlyList<float[]> vectors, IReadOnlyList<string> names)
    {
        var d = names.Count;
        var mean = new double[d];
        var scale = new double[d];
        foreach (var v in vectors)
        {
            if (v.Length != d)
            {
                throw new ArgumentException($"vector has {v.Length} features, schema has {d}");
            }

            for (var i = 0; i < d; i++)
            {
                mean[i] += v[i];
            }
        }

        for (var i = 0; i < d; i++)
        {
            mean[i] /= vectors.Count;
        }

        foreach (var v in vectors)
        {
            for (var i = 0; i < d; i++)
            {
                scale[i] += (v[i] - mean[i]) * (v[i] - mean[i]);
            }
        }

        for (var i = 0; i < d; i++)
        {
            // Floor: a feature that never moved while learning (often 0) still gets a finite, large z when it does.
            scale[i] = Math.Max(Math.Sqrt(scale[i] / Math.Max(1, vectors.Count - 1)), Math.Max(0.1 * Math.Abs(mean[i]), 0.05));
            if (BehaviourSchema.IsCount(names[i]))
            {
                // A count is at least as noisy as a Poisson count of its mean: sd sqrt(mu), which log(1+x) turns into
                // about sqrt(mu)/(1+mu). Without it, a count that happened to be the same in every learning window (one
                // DNS lookup per window, by a timer) calls one lookup more a 6-sigma event. A count never seen (mu 0)
                // keeps the plain floor: its first occurrence is news.
                var mu = Math.Max(0, Math.Exp(mean[i]) - 1);
                scale[i] = Math.Max(scale[i], Math.Sqrt(mu) / (1 + mu));
            }
        }

        return new FeatureScaler([.. names], mean, scale);
    }

    public float[] Transform(ReadOnlySpan<float> raw)
    {
        var z = new float[Count];
        Transform(raw, z);
        return z;
    }

    public void Transform(ReadOnlySpan<float> raw, Span<float> z)
    {
        for (var i = 0; i < Count; i++)
        {
            // Clipped so that one absurd value (an attacker's 10^9 bytes) cannot dominate every other feature.
            z[i] = (float)Math.Clamp((raw[i] - Mean[i]) / Scale[i], -50, 50);
        }
    }
}
