//! The `Set-Cookie` value Starlette's `Response.set_cookie` builds through `http.cookies`
//! (`SimpleCookie` / `Morsel.OutputString`, then `.strip()`), for the plain inputs every
//! supported Python version treats alike; the binding sends everything else to Python.

use std::fmt::Write;

use crate::text::py_strip;

/// `http.cookies._LegalChars`: a key or value made only of these is written unquoted.
pub fn is_legal_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~:".contains(c)
}

/// `_LegalChars` plus the characters `_quote` keeps as they are inside quotes.
fn is_unescaped_char(c: char) -> bool {
    is_legal_char(c) || " ()/<=>?@[]{}".contains(c)
}

/// `http.cookies._quote`: as is when every character is legal (and there is one), else in
/// double quotes with `"` and `\` backslashed and other bytes below 256 as `\ooo` octal.
pub fn quote(value: &str, out: &mut String) {
    if !value.is_empty() && value.chars().all(is_legal_char) {
        out.push_str(value);
        return;
    }
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if is_unescaped_char(c) || u32::from(c) > 0xff => out.push(c),
            c => {
                let _ = write!(out, "\\{:03o}", u32::from(c));
            }
        }
    }
    out.push('"');
}

/// `Morsel`'s reserved attribute names, lowercased: a key equal to one of them is refused.
pub fn is_reserved_key(key: &str) -> bool {
    const RESERVED: [&str; 9] = [
        "expires", "path", "comment", "domain", "max-age", "secure", "httponly", "version",
        "samesite",
    ];
    RESERVED.iter().any(|name| key.eq_ignore_ascii_case(name))
}

/// The attributes of one cookie, as Starlette sets them on its `Morsel`.
pub struct Cookie<'a> {
    pub key: &'a str,
    pub value: &'a str,
    pub max_age: Option<i64>,
    pub expires: Option<Expires<'a>>,
    pub path: Option<&'a str>,
    pub domain: Option<&'a str>,
    pub secure: bool,
    pub httponly: bool,
    pub samesite: Option<&'a str>,
}

pub enum Expires<'a> {
    /// A Unix time in whole seconds, written as an HTTP date (`_getdate`).
    At(i64),
    /// Written as given.
    Text(&'a str),
}

impl Cookie<'_> {
    /// `Morsel.OutputString()` stripped: `key=value`, then the attributes in sorted order of
    /// their lowercase names, empty ones left out.
    pub fn header_value(&self) -> String {
        let mut out = String::with_capacity(64 + self.value.len());
        out.push_str(self.key);
        out.push('=');
        quote(self.value, &mut out);
        push_attribute(&mut out, "Domain", self.domain.unwrap_or(""));
        match self.expires {
            Some(Expires::At(seconds)) => push_attribute(&mut out, "expires", &http_date(seconds)),
            Some(Expires::Text(text)) => push_attribute(&mut out, "expires", text),
            None => {}
        }
        if self.httponly {
            out.push_str("; HttpOnly");
        }
        if let Some(max_age) = self.max_age {
            let _ = write!(out, "; Max-Age={max_age}");
        }
        push_attribute(&mut out, "Path", self.path.unwrap_or(""));
        push_attribute(&mut out, "SameSite", self.samesite.unwrap_or(""));
        if self.secure {
            out.push_str("; Secure");
        }
        py_strip(&out).to_owned()
    }
}

/// `; name=value`, left out when `value` is empty (as `OutputString` skips `""`).
fn push_attribute(out: &mut String, name: &str, value: &str) {
    if !value.is_empty() {
        out.push_str("; ");
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
}

/// `http.cookies._getdate` for the Unix time `seconds`: `Wdy, DD Mon YYYY HH:MM:SS GMT`.
pub fn http_date(seconds: i64) -> String {
    const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    // 1970-01-01 was a Thursday (index 3 from Monday).
    let weekday = (days + 3).rem_euclid(7) as usize;
    format!(
        "{}, {:02} {:>3} {:4} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[weekday],
        day,
        MONTHS[(month - 1) as usize],
        year,
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// Proleptic Gregorian (year, month, day) of the day `days` after 1970-01-01 (H. Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_match_python_getdate() {
        // time.strftime-checked values.
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(http_date(1_795_500_000), "Tue, 24 Nov 2026 06:00:00 GMT");
        assert_eq!(http_date(-1), "Wed, 31 Dec 1969 23:59:59 GMT");
        assert_eq!(http_date(253_402_300_799), "Fri, 31 Dec 9999 23:59:59 GMT");
    }

    #[test]
    fn quoting_matches_http_cookies() {
        let quoted = |value: &str| {
            let mut out = String::new();
            quote(value, &mut out);
            out
        };
        assert_eq!(quoted("abc"), "abc");
        assert_eq!(quoted(""), "\"\"");
        assert_eq!(quoted("a b=c"), "\"a b=c\"");
        assert_eq!(
            quoted("a;b,\"\\\u{e9}\n"),
            "\"a\\073b\\054\\\"\\\\\\351\\012\""
        );
        assert_eq!(quoted("\u{20ac}"), "\"\u{20ac}\"");
    }

    #[test]
    fn attributes_come_in_sorted_order() {
        let cookie = Cookie {
            key: "session",
            value: "abc",
            max_age: Some(0),
            expires: Some(Expires::At(0)),
            path: Some("/"),
            domain: Some("example.com"),
            secure: true,
            httponly: true,
            samesite: Some("lax"),
        };
        assert_eq!(
            cookie.header_value(),
            "session=abc; Domain=example.com; expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; \
             Max-Age=0; Path=/; SameSite=lax; Secure"
        );
    }

    #[test]
    fn reserved_keys_ignore_case() {
        assert!(is_reserved_key("Max-Age"));
        assert!(!is_reserved_key("session"));
    }
}
