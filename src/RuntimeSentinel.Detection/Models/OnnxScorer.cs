using Microsoft.ML;
using Microsoft.ML.Data;

namespace RuntimeSentinel.Detection.Models;

/// <summary>
/// Scores window vectors with an imported model on one thread: one ML.NET prediction engine and one input row and
/// one output row, reused for every window, so this code allocates nothing per call (ML.NET's ONNX transformer itself
/// allocates its ONNX Runtime values per row, about 1.5 KB measured, once per workload per window). It is never
/// disposed: disposing an ML.NET prediction engine disposes the transformer's ONNX Runtime session, which the
/// model's other scorers share; the session goes with the model.
/// </summary>
internal sealed class OnnxScorer
{
    private readonly PredictionEngine<Row, Result> _engine;
    private readonly Row _row;
    private Result _result = new();

    public OnnxScorer(OnnxWindowModel model)
    {
        var output = SchemaDefinition.Create(typeof(Result));
        output[0].ColumnName = model.Card.Output;
        _engine = model.Ml.Model.CreatePredictionEngine<Row, Result>(model.Transformer, ignoreMissingColumns: true, inputSchemaDefinition: InputSchema(model.Card), outputSchemaDefinition: output);
        _row = new Row { Values = new float[model.Card.Features.Length] };
    }

    /// <summary>The input row's schema: the card's input name, a float vector of the card's width.</summary>
    public static SchemaDefinition InputSchema(OnnxCard card)
    {
        var d = SchemaDefinition.Create(typeof(Row));
        d[0].ColumnName = card.Input;
        d[0].ColumnType = new VectorDataViewType(NumberDataViewType.Single, card.Features.Length);
        return d;
    }

    /// <summary>The model's score of a window vector (schema order): the card's features picked by <paramref name="indexes"/>.</summary>
    public double Score(ReadOnlySpan<float> window, int[] indexes)
    {
        var values = _row.Values;
        for (var i = 0; i < indexes.Length; i++)
        {
            values[i] = window[indexes[i]];
        }

        return Run();
    }

    /// <summary>The model's score of the row as it is in the card's order (explanations change one feature at a time).</summary>
    public double Score(ReadOnlySpan<float> row)
    {
        row.CopyTo(_row.Values);
        return Run();
    }

    /// <summary>How many values the output gives for one row (one is expected).</summary>
    public int Probe(float[] row)
    {
        row.CopyTo(_row.Values, 0);
        _engine.Predict(_row, ref _result);
        return _result.Values?.Length ?? 0;
    }

    private double Run()
    {
        _engine.Predict(_row, ref _result);
        var v = _result.Values;
        return v is { Length: 1 } ? v[0] : double.NaN;
    }

    /// <summary>One input row (the column is renamed to the card's input by <see cref="InputSchema"/>).</summary>
    internal sealed class Row
    {
        public float[] Values = [];
    }

    /// <summary>One output row (renamed to the card's output).</summary>
    internal sealed class Result
    {
        public float[] Values = [];
    }
}
