//! Python's `float.__repr__` layout over the shortest round-trip digits.
//!
//! CPython prints the shortest digit string that reads back to the same double (as `zmij`
//! does), then lays it out: positional when the decimal point falls between 4 places left
//! of the first digit and 16 places right of it, scientific otherwise (`1e+16`, `1.5e-05`:
//! signed exponent of at least two digits), and `.0` on whole numbers.

use super::escape::append;

/// Appends `repr(value)` for a finite `value`.
///
/// zmij prints the same layout but for one-digit exponents (zmij: `1e-7`, CPython: `1e-07`)
/// and the decade just below `1e-4` (zmij: `0.00001234`, CPython: `1.234e-05`).
pub fn write_repr(value: f64, out: &mut Vec<u8>) {
    debug_assert!(value.is_finite());
    if value == 0.0 {
        out.extend_from_slice(if value.is_sign_negative() {
            b"-0.0"
        } else {
            b"0.0"
        });
        return;
    }
    let mut buffer = zmij::Buffer::new();
    let text = buffer.format_finite(value).as_bytes();
    let (negative, body) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    if let Some(digits) = body.strip_prefix(b"0.0000") {
        // 0.0000ddd: the first significant digit is the fifth decimal, exponent -5.
        if negative {
            out.push(b'-');
        }
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.extend_from_slice(b"e-05");
    } else if let Some(e) = text.iter().rposition(|&b| b == b'e') {
        // `e±` then the exponent's digits: zmij writes one where CPython writes two (`1e-07`).
        let (mantissa_and_sign, digits) = text.split_at(e + 2);
        append(out, mantissa_and_sign);
        if digits.len() < 2 {
            out.push(b'0');
        }
        out.extend_from_slice(digits);
    } else {
        append(out, text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repr(value: f64) -> String {
        let mut out = Vec::new();
        write_repr(value, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn matches_python_repr() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (-2.5, "-2.5"),
            (0.1, "0.1"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-5, "1.5e-05"),
            (123.456, "123.456"),
            (1e15, "1000000000000000.0"),
            (-250.0, "-250.0"),
            (9_007_199_254_740_992.0, "9007199254740992.0"),
            (9_007_199_254_740_994.0, "9007199254740994.0"),
            (9_999_999_999_999_998.0, "9999999999999998.0"),
            (1234567890123456.0, "1234567890123456.0"),
            (1e16, "1e+16"),
            (12345678901234567.0, "1.2345678901234568e+16"),
            (1e22, "1e+22"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (2.2250738585072014e-308, "2.2250738585072014e-308"),
            (100.0, "100.0"),
            (0.3, "0.3"),
            (2.0f64.powi(60), "1.152921504606847e+18"),
            (1.234e-5, "1.234e-05"),
            (-1e-5, "-1e-05"),
            (9.99e-5, "9.99e-05"),
            (1e-4, "0.0001"),
            (1.5e-7, "1.5e-07"),
            (1.5e100, "1.5e+100"),
            (-1.5e-100, "-1.5e-100"),
        ];
        for (value, expected) in cases {
            assert_eq!(repr(*value), *expected, "{value:e}");
        }
    }
}
