using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Text;
using RuntimeSentinel.Formats.Native;
using static RuntimeSentinel.Formats.Tests.Native.NativeJson;

namespace RuntimeSentinel.Formats.Tests.Native;

public class NativeLabelReaderTests
{
    private readonly NativeLabelReader _labels = new(new Utf8StringCache(), new EventDecoderOptions { MaxLabels = 2, MaxStringBytes = 8 });

    private bool Read(string json, out LabelSet labels, out DecodeError error)
    {
        var bytes = U(json);
        var reader = At(bytes);
        return _labels.ReadLabels(ref reader, bytes, "labels", out labels, out error);
    }

    [Fact]
    public void ReadLabels_SameObjectTwice_IsParsedOnce()
    {
        Assert.True(Read("""{"app":"cart"}""", out var first, out _));
        Assert.True(Read("""{"app":"cart"}""", out var second, out _));
        Assert.Same(first, second);
        Assert.Equal("cart", first["app"]);
    }

    [Fact]
    public void ReadLabels_NonStringValueTwice_IsRejectedWithTheSameMessageFromTheCache()
    {
        // The second time the cached rejection is hit: the message is recovered by parsing again.
        for (var i = 0; i < 2; i++)
        {
            Assert.False(Read("""{"replicas":3}""", out var labels, out var error));
            Assert.Same(LabelSet.Empty, labels);
            Assert.Equal(new DecodeError(DecodeErrorCode.WrongType, "labels", "value of 'replicas' must be a string, got number"), error);
        }
    }

    [Fact]
    public void ReadLabels_MoreThanTheLimit_IsFieldTooLarge()
    {
        Assert.False(Read("""{"a":"1","b":"2","c":"3"}""", out _, out var error));
        Assert.Equal(new DecodeError(DecodeErrorCode.FieldTooLarge, "labels", "too many labels (limit 2)"), error);
    }

    [Fact]
    public void ReadLabels_ValueOverTheStringLimit_IsFieldTooLarge()
    {
        Assert.False(Read("""{"a":"123456789"}""", out _, out var error));
        Assert.Equal(new DecodeError(DecodeErrorCode.FieldTooLarge, "labels", "too many bytes in label 'a'"), error);
    }

    [Fact]
    public void ReadLabels_Array_IsWrongType()
    {
        Assert.False(Read("""["a"]""", out _, out var error));
        Assert.Equal(new DecodeError(DecodeErrorCode.WrongType, "labels", "expected object of strings, got array"), error);
    }

    [Fact]
    public void ReadLabels_EmptyObject_IsEmpty()
    {
        Assert.True(Read("{}", out var labels, out _));
        Assert.Same(LabelSet.Empty, labels);
    }
}
