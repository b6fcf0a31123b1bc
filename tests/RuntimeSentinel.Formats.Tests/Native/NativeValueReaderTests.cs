using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Formats.Native;
using static RuntimeSentinel.Formats.Tests.Native.NativeJson;

namespace RuntimeSentinel.Formats.Tests.Native;

public class NativeValueReaderTests
{
    private readonly NativeValueReader _values = new();

    [Fact]
    public void ReadString_SameTextTwice_ReturnsTheInternedString()
    {
        var bytes = U("\"/usr/bin/curl\"");
        var a = At(bytes);
        var b = At(bytes);
        Assert.True(_values.ReadString(ref a, "process.exe", 4096, out var first, out _));
        Assert.True(_values.ReadString(ref b, "process.exe", 4096, out var second, out _));
        Assert.Same(first, second);
    }

    [Fact]
    public void ReadString_Escaped_IsUnescaped()
    {
        var reader = At(U("\"/tmp/a\\\"b\""));
        Assert.True(_values.ReadString(ref reader, "file.path", 4096, out var value, out _));
        Assert.Equal("/tmp/a\"b", value);
    }

    [Fact]
    public void ReadString_OverTheLimit_IsFieldTooLargeNamingTheField()
    {
        var reader = At(U("\"abcdef\""));
        Assert.False(_values.ReadString(ref reader, "net.protocol", 5, out _, out var error));
        Assert.Equal(new DecodeError(DecodeErrorCode.FieldTooLarge, "net.protocol", "6 bytes exceeds the 5-byte limit"), error);
    }

    [Fact]
    public void ReadString_InvalidUtf8_IsMalformed()
    {
        byte[] bytes = [(byte)'"', 0xC3, 0x28, (byte)'"'];
        var reader = At(bytes);
        Assert.False(_values.ReadString(ref reader, "node", 4096, out var value, out var error));
        Assert.Null(value);
        Assert.Equal((DecodeErrorCode.MalformedJson, "node"), (error.Code, error.Field));
    }

    [Fact]
    public void ReadString_Number_IsWrongType()
    {
        var reader = At(U("42"));
        Assert.False(_values.ReadString(ref reader, "node", 4096, out _, out var error));
        Assert.Equal(new DecodeError(DecodeErrorCode.WrongType, "node", "expected string, got number"), error);
    }

    [Fact]
    public void ReadIp_InvalidAddressTwice_IsRejectedBothTimes()
    {
        var bytes = U("\"10.0.0.300\"");
        for (var i = 0; i < 2; i++)
        {
            var reader = At(bytes);
            Assert.False(_values.ReadIp(ref reader, "net.remote_ip", out var ip, out var error));
            Assert.Null(ip);
            Assert.Equal(new DecodeError(DecodeErrorCode.InvalidValue, "net.remote_ip", "'10.0.0.300' is not an IP address"), error);
        }
    }

    [Theory]
    [InlineData("\"10.0.0.1\"", "10.0.0.1")]
    [InlineData("\"2001:db8::1\"", "2001:db8::1")]
    [InlineData("null", null)]
    public void ReadIp_AddressOrNull_IsRead(string json, string? expected)
    {
        var reader = At(U(json));
        Assert.True(_values.ReadIp(ref reader, "net.local_ip", out var ip, out _));
        Assert.Equal(expected, ip);
    }

    [Theory]
    [InlineData("0", true, 0)]
    [InlineData("65535", true, 65535)]
    [InlineData("65536", false, -1)]
    [InlineData("-1", false, -1)]
    [InlineData("null", true, -1)]
    public void ReadPort_Range_IsZeroTo65535(string json, bool ok, int expected)
    {
        var reader = At(U(json));
        Assert.Equal(ok, NativeValueReader.ReadPort(ref reader, "net.local_port", out var port, out _));
        Assert.Equal(expected, port);
    }

    [Fact]
    public void ReadNonNegativeLong_Negative_IsInvalidValue()
    {
        var reader = At(U("-5"));
        Assert.False(NativeValueReader.ReadNonNegativeLong(ref reader, "net.bytes_in", out _, out var error));
        Assert.Equal(new DecodeError(DecodeErrorCode.InvalidValue, "net.bytes_in", "must be >= 0"), error);
    }

    [Fact]
    public void ReadNonNegativeInt_Fraction_IsWrongType()
    {
        var reader = At(U("1.5"));
        Assert.False(NativeValueReader.ReadNonNegativeInt(ref reader, "process.pid", out _, out var error));
        Assert.Equal(DecodeErrorCode.WrongType, error.Code);
    }

    [Fact]
    public void ReadTimestamp_UnixNanoseconds_AreTicksSinceTheEpoch()
    {
        var reader = At(U("1795947072123456700"));
        Assert.True(NativeValueReader.ReadTimestamp(ref reader, out var ts, out _));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1795947072).AddTicks(1234567), ts);
    }

    [Theory]
    [InlineData("-1", DecodeErrorCode.InvalidValue)]
    [InlineData("\"yesterday\"", DecodeErrorCode.InvalidValue)]
    [InlineData("true", DecodeErrorCode.WrongType)]
    public void ReadTimestamp_NotATime_IsRejectedNamingTs(string json, DecodeErrorCode code)
    {
        var reader = At(U(json));
        Assert.False(NativeValueReader.ReadTimestamp(ref reader, out _, out var error));
        Assert.Equal((code, "ts"), (error.Code, error.Field));
    }

    [Theory]
    [InlineData("\"outbound\"", true, NetDirection.Outbound)]
    [InlineData("\"inbound\"", true, NetDirection.Inbound)]
    [InlineData("\"unknown\"", true, NetDirection.Unknown)]
    [InlineData("null", true, NetDirection.Unknown)]
    [InlineData("\"sideways\"", false, NetDirection.Unknown)]
    public void ReadDirection_Word_IsOneOfThree(string json, bool ok, NetDirection expected)
    {
        var reader = At(U(json));
        Assert.Equal(ok, NativeValueReader.ReadDirection(ref reader, out var direction, out _));
        Assert.Equal(expected, direction);
    }
}
