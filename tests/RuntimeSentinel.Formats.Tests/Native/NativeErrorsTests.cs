using System.Text.Json;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Formats.Native;

namespace RuntimeSentinel.Formats.Tests.Native;

public class NativeErrorsTests
{
    [Fact]
    public void WrongType_Token_NamesFieldExpectedAndGot()
    {
        Assert.Equal(new DecodeError(DecodeErrorCode.WrongType, "net", "expected object, got boolean"), NativeErrors.WrongType("net", "object", JsonTokenType.True));
    }

    [Fact]
    public void Truncate_LongerThan64_IsCutTo64WithAnEllipsis()
    {
        var cut = NativeErrors.Truncate(new string('x', 100));
        Assert.Equal(64, cut.Length);
        Assert.EndsWith("...", cut, StringComparison.Ordinal);
        Assert.Equal("short", NativeErrors.Truncate("short"));
        Assert.Equal("", NativeErrors.Truncate(null));
    }

    [Theory]
    [InlineData("'x' is invalid. Expected a value. LineNumber: 0", "'x' is invalid")]
    [InlineData("Cannot read.", "Cannot read")]
    public void FirstSentence_ExceptionMessage_KeepsTheFirstSentence(string message, string expected)
    {
        Assert.Equal(expected, NativeErrors.FirstSentence(message));
    }
}
