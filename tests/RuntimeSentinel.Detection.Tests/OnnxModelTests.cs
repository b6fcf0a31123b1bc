using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection.Models;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Detection.Tests;

/// <summary>
/// Imported ONNX models (<see cref="OnnxImport"/>, <see cref="OnnxWindowDetector"/>) on the fixtures of
/// <see cref="OnnxFixtures"/>, whose score is known: sum((x - 0.5)²) over the card's features.
/// </summary>
public sealed class OnnxModelTests : IDisposable
{
    private const string Workload = "t/shop/Deployment/cart/cart";
    private readonly TempFolder _temp = new("onnx-");

    public void Dispose() => _temp.Dispose();

    /// <summary>100 windows 10 s apart; the four card features near 0.5, the rest random; every tenth labelled attack.</summary>
    internal static List<CalibrationWindow> Windows(int seed = 3, int count = 100)
    {
        var rng = new Random(seed);
        var indexes = OnnxFixtures.Features.Select(BehaviourSchema.Index).ToArray();
        return Enumerable.Range(0, count).Select(i =>
        {
            var v = Enumerable.Range(0, BehaviourSchema.Features.Length).Select(_ => (float)rng.NextDouble() * 3).ToArray();
            foreach (var f in indexes)
            {
                v[f] = 0.5f + (float)((rng.NextDouble() - 0.5) * 0.4);
            }

            return new CalibrationWindow(Some.Time.AddSeconds(10 * i), v, i % 10 == 9 ? 1 : 0);
        }).ToList();
    }

    private ImportedModel Import(string file = OnnxFixtures.Distance4, string? card = null, long budget = 256L << 20, ModelStore? store = null) =>
        OnnxImport.Import(store ?? new ModelStore(_temp.Path), Workload, OnnxFixtures.PathOf(file), OnnxCard.Parse(card ?? OnnxFixtures.Card(extra: $", \"held_back_from\": \"{Some.Time.AddSeconds(500):O}\""), "card.json"), Windows(), 10, 1, budget, Some.Time);

    [Fact]
    public void Import_DistanceModel_ServedScoreIsTheGraphsAndThresholdIsCalibratedOnHeldBackNormalWindows()
    {
        var imported = Import();

        // Held back: from the 50th window on, attacks left out (5 of those 50).
        var held = Windows().Skip(50).Where(w => w.Label != 1).ToList();
        var indexes = OnnxFixtures.Features.Select(BehaviourSchema.Index).ToArray();
        var scores = held.Select(w => OnnxFixtures.Distance(indexes.Select(i => w.Vector[i]))).ToList();
        Assert.Equal(45, imported.HeldBack.Scores);
        Assert.Equal(Calibration.Threshold(scores, Calibration.ExceedanceFor(1, 1, 8640)), imported.Threshold, 5);
        Assert.Equal("onnx:dist", imported.Detector);

        // The version as the daemon loads it: the registry makes the detector, which scores as the graph does.
        var model = WorkloadModel.Load(imported.Path);
        var detector = Assert.Single(DetectorRegistry.Default.CreateWindowDetectors(new ModelDetectorContext(model, new ModelOptions(), ModelMemoryBudget.Unlimited())));
        Assert.Equal("onnx:dist", detector.Name);
        Assert.Equal(imported.Threshold, model.ThresholdOf("onnx:dist"));
        var attack = Windows()[9].Vector;
        Assert.Equal(OnnxFixtures.Distance(indexes.Select(i => attack[i])), detector.Score(attack, 0), 4);
        Assert.True(WorkloadModel.IsDetector("onnx:dist"));
    }

    [Fact]
    public void Explain_OneFeatureFarFromItsMedian_ThatFeatureLeadsWithTheLargestShare()
    {
        var model = WorkloadModel.Load(Import().Path);
        var detector = Assert.Single(DetectorRegistry.Default.CreateWindowDetectors(new ModelDetectorContext(model, new ModelOptions(), ModelMemoryBudget.Unlimited())));
        var window = Windows()[60].Vector.ToArray();
        window[BehaviourSchema.Index("connect")] = 6; // log(1+x) of about 400 connections

        var explained = detector.Explain(window, 0, 3);

        Assert.Equal("connect", explained[0].Feature);
        Assert.True(explained[0].Share > 0.9, $"{explained[0].Share}");
        Assert.True(explained[0].Observed > explained[0].Baseline);
    }

    [Fact]
    public void Swap_ImportedModel_ChargesFileTimesFactorAndIsRefusedWhenTheBudgetCannotHoldIt()
    {
        var model = WorkloadModel.Load(Import().Path);
        var bytes = OnnxWindowModel.FixedBytes + (OnnxWindowModel.BytesPerFileByte * new FileInfo(OnnxFixtures.PathOf(OnnxFixtures.Distance4)).Length) + 4096 + ModelRuntime.LiveBaseBytes;
        var budget = new ModelMemoryBudget(bytes);
        var runtime = new ModelRuntime(Workload, new ModelOptions(), 1, budget);
        Assert.True(runtime.Swap(model, promoted: true));
        Assert.Equal(bytes, budget.Used);

        var tight = new ModelMemoryBudget(bytes - 1);
        var refused = new ModelRuntime(Workload, new ModelOptions(), 1, tight);
        Assert.False(refused.Swap(model, promoted: true));
        Assert.Equal(MemoryRefusal.Model, refused.LastFit);
        Assert.Equal(0, tight.Used);
    }

    public static TheoryData<string, string, string> Refusals => new()
    {
        // file, card, what the message names
        { "corrupt", OnnxFixtures.Card(), "not a model ONNX Runtime can load" },
        { OnnxFixtures.Distance4, OnnxFixtures.Card(input: "x"), "input 'x' is not an input of the model" },
        { OnnxFixtures.Distance3, OnnxFixtures.Card(), "input 'features' is float [N, 3]; the card's 4 features need float [N, 4]" },
        { OnnxFixtures.Rowwise4, OnnxFixtures.Card(), "output 'score' is float [N, 4]; one float per row is expected" },
        { OnnxFixtures.Distance4, OnnxFixtures.Card(output: "y"), "output 'y' is not an output of the model" },
        { OnnxFixtures.Distance4, OnnxFixtures.Card(features: ["events", "exec", "connect", "bogus"]), "feature 'bogus' is not a feature column of sentinel.features/v1" },
        { "big", OnnxFixtures.Card(), "too big for the node's model memory budget" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Import_RefusedModelOrCard_OneLineNamingTheProblemAndTheStoreUnchanged(string file, string card, string problem)
    {
        var store = new ModelStore(_temp.Path);
        var promoted = Import(store: store); // v1, promoted: what is in service must stay
        store.Promote(Workload, promoted.Version);
        var before = Listing();
        var path = file switch
        {
            "corrupt" => Write("corrupt.onnx", [.. File.ReadAllBytes(OnnxFixtures.PathOf(OnnxFixtures.Distance4)).Take(100), .. "not protobuf"u8.ToArray()]),
            "big" => Write("big.onnx", new byte[300_000]),
            _ => OnnxFixtures.PathOf(file),
        };

        var ex = Assert.Throws<ModelRejectedException>(() =>
            OnnxImport.Import(store, Workload, path, OnnxCard.Parse(card, "card.json"), Windows(), 10, 1, 1L << 20, Some.Time));

        Assert.True(ex.Message.Contains(problem, StringComparison.Ordinal), ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
        Assert.Equal(before, Listing());
        Assert.Equal("v1", Assert.Single(store.List(), m => m.Promoted).Version);
    }

    private string Write(string name, byte[] bytes)
    {
        var p = Path.Combine(_temp.Path, "..", "onnx-input-" + Guid.NewGuid().ToString("N") + name);
        File.WriteAllBytes(p, bytes);
        return p;
    }

    /// <summary>Every file of the store with its size and content hash.</summary>
    private string Listing() => string.Join('\n', Directory.EnumerateFileSystemEntries(_temp.Path, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
        .Select(p => File.Exists(p) ? $"{p} {Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(p)))}" : p));

    private sealed class Completions : IOffsetCompletion
    {
        public void Complete(long offset)
        {
        }
    }

    [Fact]
    public async Task ScanAsync_ImportedModelFileChangedOnDisk_RefusedAndTheVersionInServiceStays()
    {
        var options = WorkloadModelTests.Options();
        options.Clock = "event";
        options.LearningDuration = TimeSpan.FromMinutes(5);
        options.MinLearningEvents = 100;
        options.Models.Directory = _temp.Path;
        var alerts = new RecordingAlerts();
        var metrics = new DetectionMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        var time = new FakeTimeProvider(Some.Time);
        var pipeline = new DetectionPipeline(Microsoft.Extensions.Options.Options.Create(options), alerts, metrics, time, NullLogger<DetectionPipeline>.Instance);
        pipeline.Start();
        var resolver = new WorkloadResolver("t");
        var completions = new Completions();
        long offset = 0;
        var w = new SyntheticWorkload(21);
        var key = resolver.Resolve(w.Workload).Value;

        // The data scientist's model, imported and promoted; the watcher puts it in service.
        var store = new ModelStore(_temp.Path);
        var imported = OnnxImport.Import(store, key, OnnxFixtures.PathOf(OnnxFixtures.Distance4), OnnxCard.Parse(OnnxFixtures.Card(), "card.json"), Windows(), 10, 1, 256L << 20, Some.Time);
        store.Promote(key, imported.Version);
        await using var watcher = new ModelWatcher(pipeline, Microsoft.Extensions.Options.Options.Create(options), time, metrics, NullLogger<ModelWatcher>.Instance);
        async Task Feed(DateTimeOffset from, int seconds)
        {
            foreach (var e in w.Seconds(from, seconds))
            {
                await pipeline.EnqueueAsync(new IngestItem(e, resolver.Resolve(e.Workload), completions, offset++, Stopwatch.GetTimestamp()), default);
            }
        }

        await Feed(Some.Time, 10);
        Assert.Equal(1, await watcher.ScanAsync());
        await Feed(Some.Time.AddSeconds(10), 600); // learning ends: the promoted version is kept, not replaced by a trained one
        var modelFile = Path.Combine(imported.Path, OnnxCard.ModelFileName);

        // Replaced on disk (a new file under the name, as editors and copy tools write): garbage, then a valid model of
        // another shape. Each is refused; v1 stays in service.
        File.Delete(modelFile);
        File.WriteAllBytes(modelFile, "garbage"u8.ToArray());
        File.SetLastWriteTimeUtc(modelFile, DateTime.UtcNow.AddMinutes(1));
        Assert.Equal(0, await watcher.ScanAsync());
        File.Delete(modelFile);
        File.Copy(OnnxFixtures.PathOf(OnnxFixtures.Distance3), modelFile);
        File.SetLastWriteTimeUtc(modelFile, DateTime.UtcNow.AddMinutes(2));
        Assert.Equal(0, await watcher.ScanAsync());
        await Feed(Some.Time.AddSeconds(610), 60);

        await pipeline.CompleteAsync();
        var snapshot = Assert.Single(await pipeline.SnapshotAsync());
        Assert.Equal("v1", snapshot.ModelVersion);
        Assert.Equal(imported.Threshold, snapshot.ModelThresholds!["onnx:dist"]);
        Assert.True(snapshot.ModelWindowsScored > 0);
        Assert.Equal(1, metrics.ModelSwaps.WithLabels("applied").Value);
        Assert.Equal(2, metrics.ModelSwaps.WithLabels("rejected").Value);
    }
}
