using RuntimeSentinel.Formats.Tetragon;
using static RuntimeSentinel.Formats.Tests.Tetragon.TetragonJson;

namespace RuntimeSentinel.Formats.Tests.Tetragon;

public class TetragonValuesTests
{
    private readonly TetragonValues _values = new();

    [Fact]
    public void Str_SameTextTwice_ReturnsTheInternedString()
    {
        var bytes = U("\"/usr/bin/curl\"");
        var first = At(bytes);
        var second = At(bytes);
        Assert.Same(_values.Str(ref first), _values.Str(ref second));
    }

    [Theory]
    [InlineData("\"\"", null)]
    [InlineData("42", "42")]
    [InlineData("true", "true")]
    [InlineData("false", "false")]
    [InlineData("\"a\\u0041\"", "aA")]
    [InlineData("[\"x\"]", null)]
    public void Str_EachTokenType_ReadsTextOrAbsent(string json, string? expected)
    {
        var reader = At(U(json));
        Assert.Equal(expected, _values.Str(ref reader));
    }

    [Theory]
    [InlineData("17", 17L)]
    [InlineData("\"9007199254740993\"", 9007199254740993L)]
    [InlineData("2.0", 2L)]
    [InlineData("1e300", null)]
    [InlineData("\"12x\"", null)]
    [InlineData("null", null)]
    public void Long_NumberOrNumericString_ReadsProtobufJsonIntegers(string json, long? expected)
    {
        var reader = At(U(json));
        Assert.Equal(expected, TetragonValues.Long(ref reader));
    }

    [Theory]
    [InlineData("-5", -1)]
    [InlineData("4294967296", -1)]
    [InlineData("80", 80)]
    public void Int_OutsideZeroToIntMax_IsMinusOne(string json, int expected)
    {
        var reader = At(U(json));
        Assert.Equal(expected, TetragonValues.Int(ref reader));
    }

    [Theory]
    [InlineData("1234", 1234)]
    [InlineData("{\"value\":1234}", 1234)]
    [InlineData("{\"other\":1}", -1)]
    public void UInt32Value_BareOrWrapped_ReadsTheNumber(string json, int expected)
    {
        var reader = At(U(json));
        Assert.Equal(expected, TetragonValues.UInt32Value(ref reader));
    }

    [Theory]
    [InlineData("\"2026-11-29T10:11:12.1234567Z\"")]
    [InlineData("1795947072123456700")]
    [InlineData("\"1795947072123456700\"")]
    [InlineData("{\"seconds\":1795947072,\"nanos\":123456700}")]
    public void Time_EachOfTheThreeForms_ReadsTheSameInstant(string json)
    {
        var reader = At(U(json));
        var expected = DateTimeOffset.FromUnixTimeSeconds(1795947072).AddTicks(1234567);
        Assert.Equal(expected, TetragonValues.Time(ref reader));
    }

    [Fact]
    public void ObjectField_NamedStringOfAnObject_IsReadAndTheRestSkipped()
    {
        var reader = At(U("{\"flags\":3,\"path\":\"/tmp/x\",\"nested\":{\"path\":\"no\"}}"));
        Assert.Equal("/tmp/x", _values.ObjectField(ref reader, "path"u8));
        Assert.Equal(System.Text.Json.JsonTokenType.EndObject, reader.TokenType);
    }

    [Fact]
    public void FirstString_Array_ReadsOnlyTheFirst()
    {
        var reader = At(U("[\"a.example.\",\"b.example.\"]"));
        Assert.Equal("a.example.", _values.FirstString(ref reader));
        Assert.Equal(System.Text.Json.JsonTokenType.EndArray, reader.TokenType);
    }
}
