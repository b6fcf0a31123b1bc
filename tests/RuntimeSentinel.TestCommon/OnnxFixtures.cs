namespace RuntimeSentinel.TestCommon;

/// <summary>
/// The small ONNX models of <c>tests/RuntimeSentinel.TestCommon/Onnx</c> (written by its make_fixtures.py). Each scores
/// a row by its squared distance from 0.5 in every input: sum((x - 0.5)²).
/// </summary>
public static class OnnxFixtures
{
    /// <summary>Input <c>features</c> float [N, 4], output <c>score</c> float [N].</summary>
    public const string Distance4 = "distance4.onnx";

    /// <summary>The same over three inputs: float [N, 3].</summary>
    public const string Distance3 = "distance3.onnx";

    /// <summary>Output <c>score</c> float [N, 4]: four values per row.</summary>
    public const string Rowwise4 = "rowwise4.onnx";

    /// <summary>The features the tests' cards list for the four inputs.</summary>
    public static readonly string[] Features = ["events", "exec", "connect", "bytes_out"];

    public static string PathOf(string name) => System.IO.Path.Combine(AppContext.BaseDirectory, "Onnx", name);

    /// <summary>The model's score of a row, as the graph computes it.</summary>
    public static double Distance(IEnumerable<float> row) => row.Sum(x => (x - 0.5) * (x - 0.5));

    /// <summary>A card for the fixtures: the four features, input <c>features</c>, output <c>score</c>, and what else is given.</summary>
    public static string Card(string name = "dist", string input = "features", string output = "score", string[]? features = null, string extra = "") =>
        $$"""
        {"schema": "sentinel.onnx-card/v1", "name": "{{name}}", "features": [{{string.Join(", ", (features ?? Features).Select(f => $"\"{f}\""))}}], "input": "{{input}}", "output": "{{output}}"{{extra}}}
        """;
}
