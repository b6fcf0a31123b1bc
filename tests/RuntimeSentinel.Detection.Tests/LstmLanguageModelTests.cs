using RuntimeSentinel.Lab.Sequences;

namespace RuntimeSentinel.Detection.Tests;

public class LstmLanguageModelTests
{
    // A loop whose next call depends on more than the last call: 1 2 1 3 repeats, so after a 1 the model must
    // remember whether a 2 or a 3 came before it; with a little noise.
    private static List<int[]> Traces(int seed, int count)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, 120).Select(i => rng.NextDouble() < 0.02 ? 4 : (i % 4) switch { 0 => 1, 1 => 2, 2 => 1, _ => 3 }).ToArray()).ToList();
    }

    private static readonly LstmOptions Small = new() { Embedding = 8, Hidden = 16, Epochs = 12, Chunk = 24, Batch = 8, LearningRate = 0.02f, Seed = 3 };

    [Fact]
    public void Train_RepeatingLoop_LossFallsAndOutOfOrderTraceScoresHigher()
    {
        var losses = new List<double>();
        var model = LstmLanguageModel.Train(Traces(1, 30), Small, (_, loss) => losses.Add(loss));
        Assert.Equal(12, losses.Count);
        Assert.True(losses[^1] < losses[0] / 2, $"loss {losses[0]:0.00} → {losses[^1]:0.00} bits");

        var normal = Traces(2, 10).Select(t => model.Score(t)).Max();
        int[] shuffled = [.. Enumerable.Range(0, 120).Select(i => (i % 4) switch { 0 => 1, 1 => 3, 2 => 2, _ => 1 })];
        int[] unseen = [.. Enumerable.Range(0, 120).Select(i => i % 2 == 0 ? 1 : 9)];
        Assert.True(model.Score(shuffled) > normal + 0.5, $"shuffled {model.Score(shuffled):0.00} vs normal {normal:0.00}");
        Assert.True(model.Score(unseen) > model.Score(shuffled));
    }

    [Fact]
    public void Train_SameSeed_SameModel()
    {
        var a = LstmLanguageModel.Train(Traces(1, 10), Small with { Epochs = 2 });
        var b = LstmLanguageModel.Train(Traces(1, 10), Small with { Epochs = 2 });
        var probe = Traces(5, 1)[0];
        Assert.Equal(a.Score(probe), b.Score(probe));
    }

    [Fact]
    public void SaveAndLoad_StreamingScorer_MatchesWholeSequenceScore()
    {
        var model = LstmLanguageModel.Train(Traces(1, 10), Small with { Epochs = 3 });
        using var buffer = new MemoryStream();
        model.Save(new BinaryWriter(buffer));
        buffer.Position = 0;
        var loaded = LstmLanguageModel.Load(new BinaryReader(buffer));
        var probe = Traces(6, 1)[0];
        Assert.Equal(model.Score(probe), loaded.Score(probe), 6);

        var stream = loaded.Open();
        var mean = probe.Select(c => (double)stream.Next(c)).Average();
        Assert.Equal(model.Score(probe), mean, 4);
    }
}
