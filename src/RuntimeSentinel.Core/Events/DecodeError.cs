namespace RuntimeSentinel.Core.Events;

/// <summary>Why a message was rejected. The code is a bounded metric label; field and detail go to the dead-letter headers.</summary>
public enum DecodeErrorCode : byte
{
    Empty,
    MessageTooLarge,
    MalformedJson,
    NotAnObject,
    UnsupportedSchema,
    MissingField,
    WrongType,
    InvalidValue,
    UnknownKind,
    FieldTooLarge,
    DuplicateField,
    UnknownFormat,
    InvalidEncoding,
    DecoderFault,
}

public readonly record struct DecodeError(DecodeErrorCode Code, string Field, string Detail)
{
    private static readonly string[] CodeNames =
    [
        "empty", "message_too_large", "malformed_json", "not_an_object", "unsupported_schema", "missing_field",
        "wrong_type", "invalid_value", "unknown_kind", "field_too_large", "duplicate_field", "unknown_format",
        "invalid_utf8", "decoder_fault",
    ];

    public static IReadOnlyList<string> AllCodeNames => CodeNames;

    public string CodeName => CodeNames[(int)Code];

    /// <summary>One line for logs, headers and CLI output: <c>missing_field: process.exe: required for process_exec</c>.</summary>
    public override string ToString() => string.IsNullOrEmpty(Field) ? $"{CodeName}: {Detail}" : $"{CodeName}: {Field}: {Detail}";
}
