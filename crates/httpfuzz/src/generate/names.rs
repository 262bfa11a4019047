//! Names and strings: a small pool of userNames per lane and their look-alikes (the server
//! folds case, ß/SS, fullwidth letters and NFC/NFD, and refuses control, invisible and bidi
//! characters), plus free text for every other attribute.

use rand::Rng as _;
use rand::rngs::StdRng;

use super::Generator;

/// Chosen for what Unicode caseless matching does to them: ß, accents in two normal forms,
/// the Kelvin sign, a titlecase digraph, dotted/dotless i.
pub(super) const USER_BASES: &[&str] = &[
    "strasse",
    "straße",
    "émile.dupont",
    "zoë",
    "björn",
    "kelvin",
    "ǆemal",
    "istanbul",
    "anna.smith",
    "jose",
    "ﬁona",
    "renée",
];

pub(super) const GROUP_BASES: &[&str] = &[
    "Engineering",
    "Straßenbau",
    "Équipe",
    "sales",
    "Admins",
    "Café",
];

const DOMAINS: &[&str] = &["@example.com", "@EXAMPLE.com", "@exämple.com", ""];

pub(super) fn pool(rng: &mut StdRng, bases: &[&str], n: usize, domains: bool) -> Vec<String> {
    (0..n)
        .map(|_| {
            let base = bases[rng.random_range(0..bases.len())];
            let domain = if domains {
                DOMAINS[rng.random_range(0..DOMAINS.len())]
            } else {
                ""
            };
            format!("{base}{domain}")
        })
        .collect()
}

/// Characters the server must refuse in names (and NUL anywhere).
const INVISIBLE: &[char] = &[
    '\u{200B}', '\u{200C}', '\u{200D}', '\u{202E}', '\u{202A}', '\u{2066}', '\u{FEFF}', '\u{00AD}',
    '\u{2028}', '\u{0000}', '\u{0001}', '\u{001B}', '\u{007F}', '\u{0085}', '\u{009F}', '\t', '\n',
    '\r',
];

const DECORATIONS: &[&str] = &["👩‍💻", "山田太郎", "🇫🇷", "Ω", "ǅ", "İ", "ı", "𝔘"];

impl Generator {
    pub(super) fn user_name(&mut self) -> String {
        let i = self.below(self.names.len());
        let base = self.names[i].clone();
        self.look_alike(&base)
    }

    pub(super) fn group_name(&mut self) -> String {
        let i = self.below(self.group_names.len());
        let base = self.group_names[i].clone();
        self.look_alike(&base)
    }

    /// The name itself most of the time, else a variant that may or may not fold to it.
    fn look_alike(&mut self, base: &str) -> String {
        match self.below(1000) {
            0..350 => base.to_owned(),
            350..450 => base.to_uppercase(),
            450..500 => self.mixed_case(base),
            500..550 => swap_sharp_s(base),
            550..590 => fullwidth(base),
            590..630 => decompose(base),
            630..650 => base.replace('k', "\u{212A}"),
            650..680 => format!("{base} "),
            680..690 => format!(" {base}"),
            690..760 => {
                let c = self.pick(INVISIBLE);
                self.insert_char(base, c)
            }
            760..790 => {
                let d = self.pick(DECORATIONS);
                format!("{base}{d}")
            }
            790..805 => String::new(),
            805..815 => self.pick(&[" ", "\t", "\u{3000}", "\u{200B}"]).to_owned(),
            815..840 => self.long_text(base, 500, 530),
            840..843 => self.long_text(base, 1_000, 20_000),
            843..870 => {
                let c = self.pick(&[
                    "\u{0130}", "\u{0131}", "\u{03A3}", "\u{03C2}", "\u{1E9E}", "\u{FB00}",
                ]);
                format!("{base}{c}")
            }
            _ => {
                let n = self.below(3);
                format!("{base}{n}")
            }
        }
    }

    fn mixed_case(&mut self, s: &str) -> String {
        s.chars()
            .flat_map(|c| {
                let upper = self.chance(0.5);
                let v: Vec<char> = if upper {
                    c.to_uppercase().collect()
                } else {
                    c.to_lowercase().collect()
                };
                v
            })
            .collect()
    }

    fn insert_char(&mut self, s: &str, c: char) -> String {
        let chars: Vec<char> = s.chars().collect();
        let at = self.below(chars.len() + 1);
        let mut out: String = chars[..at].iter().collect();
        out.push(c);
        out.extend(&chars[at..]);
        out
    }

    /// `base` repeated to a length (in characters) between `lo` and `hi`.
    pub(super) fn long_text(&mut self, base: &str, lo: usize, hi: usize) -> String {
        let len = self.between(lo, hi);
        let unit = if base.is_empty() { "x" } else { base };
        unit.chars().cycle().take(len).collect()
    }

    /// Free text for non-identifying attributes: mostly short and plain, sometimes hostile.
    pub(super) fn text(&mut self) -> String {
        match self.below(1000) {
            0..500 => {
                let n = self.below(1000);
                format!("value {n}")
            }
            500..600 => self
                .pick(&["", " ", "null", "true", "False", "0", "-1", "1e400"])
                .to_owned(),
            600..680 => self.pick(DECORATIONS).to_owned(),
            680..740 => self
                .pick(&[
                    "a\"b",
                    "back\\slash",
                    "\\u0000",
                    "x\" or userName pr or \"",
                    "'; DROP TABLE users; --",
                    "../../etc/passwd",
                    "%00%2F",
                    "<script>alert(1)</script>",
                    "${jndi:ldap://x}",
                    "a]b[c",
                ])
                .to_owned(),
            740..800 => {
                let c = self.pick(INVISIBLE);
                self.insert_char("plain text", c)
            }
            800..850 => decompose("Renée Müller-Lüdenscheidt"),
            850..880 => self.long_text("abcdefgh", 100, 2_000),
            880..884 => self.long_text("é", 16_380, 16_390),
            884..886 => self.long_text("0123456789", 16_385, 40_000),
            _ => {
                let n: u64 = self.rng.random();
                format!("{n:x}")
            }
        }
    }
}

fn swap_sharp_s(s: &str) -> String {
    if s.contains('ß') {
        s.replace('ß', "ss")
    } else if s.contains("ss") {
        s.replace("ss", "ß")
    } else {
        s.replace('s', "ß")
    }
}

/// ASCII letters and digits → their fullwidth forms (U+FF10.., U+FF21.., U+FF41..).
fn fullwidth(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                char::from_u32(c as u32 - 0x20 + 0xFF00).unwrap_or(c)
            } else {
                c
            }
        })
        .collect()
}

/// A hand-made NFD of the precomposed letters the bases use.
pub(super) fn decompose(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            'é' => out.push_str("e\u{301}"),
            'É' => out.push_str("E\u{301}"),
            'ë' => out.push_str("e\u{308}"),
            'ö' => out.push_str("o\u{308}"),
            'ü' => out.push_str("u\u{308}"),
            'ä' => out.push_str("a\u{308}"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alikes_are_built_as_intended() {
        assert_eq!(fullwidth("ab1"), "\u{FF41}\u{FF42}\u{FF11}");
        assert_eq!(decompose("zoë"), "zoe\u{308}");
        assert_eq!(swap_sharp_s("straße"), "strasse");
        assert_eq!(swap_sharp_s("strasse"), "straße");
    }
}
