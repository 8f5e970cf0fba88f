// Email cleaning on small hand-written messages: charsets, MIME structure, transfer
// encodings, RFC 2047 subjects, HTML, whitespace rules, the body cap, and UTF-8 validity.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "framework/data/charset.h"
#include "framework/data/email_text.h"
#include "framework/data/html_text.h"
#include "framework/data/mime.h"

namespace qzo {
namespace {

TEST(Charset, Latin1LabelIsReadAsWindows1252) {
  // 0xE9 is e-acute in both; 0x93/0x94 are curly quotes only in windows-1252.
  EXPECT_EQ(charset_to_utf8("caf\xE9 \x93ok\x94", "ISO-8859-1"), "caf\xC3\xA9 \xE2\x80\x9Cok\xE2\x80\x9D");
  EXPECT_EQ(charset_to_utf8("\x80", "\"windows-1252\""), "\xE2\x82\xAC");
}

TEST(Charset, OtherCharsetsGoThroughIconv) {
  EXPECT_EQ(charset_to_utf8("\xA4\xA4", "big5"), "\xE4\xB8\xAD");          // U+4E2D
  EXPECT_EQ(charset_to_utf8("\xD6\xD0", "gb2312"), "\xE4\xB8\xAD");        // read as GBK
  EXPECT_EQ(charset_to_utf8("\xC7\xD1", "ks_c_5601-1987"), "\xED\x95\x9C");  // U+D55C
  EXPECT_EQ(charset_to_utf8("\xA4", "iso-8859-15"), "\xE2\x82\xAC");       // euro sign
}

TEST(Charset, UnknownLabelOrUndeclaredBytesFallBackToWindows1252) {
  EXPECT_EQ(charset_to_utf8("na\xEFve", "x-no-such-charset"), "na\xC3\xAFve");
  EXPECT_EQ(charset_to_utf8("na\xEFve", ""), "na\xC3\xAFve");
  EXPECT_EQ(charset_to_utf8("d\xC3\xA9j\xC3\xA0", "us-ascii"), "d\xC3\xA9j\xC3\xA0");  // already UTF-8
  EXPECT_FALSE(is_known_charset("x-no-such-charset"));
  EXPECT_TRUE(is_known_charset("Big5"));
}

TEST(Charset, Utf8ValidationRejectsOverlongsSurrogatesAndTruncation) {
  EXPECT_TRUE(is_valid_utf8("plain \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("ok \xE2\x82"));       // cut short
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_TRUE(is_valid_utf8(sanitize_utf8("\xC0\xAF \xED\xA0\x80 \xE2\x82 \xFF")));
}

TEST(Charset, TruncateNeverSplitsACodePoint) {
  const std::string text = "a\xC3\xA9\xE2\x82\xAC";  // a, e-acute (2 bytes), euro (3 bytes)
  EXPECT_EQ(truncate_utf8(text, 2), "a");
  EXPECT_EQ(truncate_utf8(text, 3), "a\xC3\xA9");
  EXPECT_EQ(truncate_utf8(text, 5), "a\xC3\xA9");
  EXPECT_EQ(truncate_utf8(text, 6), text);
}

TEST(Mime, HeadersAreUnfoldedAndNamesLowerCased) {
  const MimeEntity e = parse_mime_entity(
      "From someone@example.com  Thu Aug 22 12:36:23 2002\n"
      "Subject: a long\n\tsubject line\nContent-Type: text/plain;\n    charset=\"utf-8\"\n\nthe body\n");
  ASSERT_EQ(e.headers.size(), 2u);
  EXPECT_EQ(header_value(e.headers, "subject").value(), "a long subject line");
  EXPECT_EQ(header_value(e.headers, "content-type").value(), "text/plain; charset=\"utf-8\"");
  EXPECT_EQ(e.body, "the body\n");
  EXPECT_FALSE(header_value(e.headers, "date").has_value());
}

TEST(Mime, ContentTypeParametersQuotedAndBare) {
  const ContentType a = parse_content_type("Multipart/Alternative; boundary=\"----=_Part 1\"; CHARSET=UTF-8");
  EXPECT_EQ(a.media_type, "multipart/alternative");
  EXPECT_EQ(a.param("boundary"), "----=_Part 1");
  EXPECT_EQ(a.param("charset"), "UTF-8");
  const ContentType b = parse_content_type("text/html;charset=iso-8859-1");
  EXPECT_EQ(b.media_type, "text/html");
  EXPECT_EQ(b.param("charset"), "iso-8859-1");
  EXPECT_EQ(parse_content_type("").media_type, "text/plain");
}

TEST(Mime, MultipartSplitsAtBoundaryLinesOnly) {
  const std::string body =
      "preamble\n--XY\nContent-Type: text/plain\n\none --XY inside\n--XY\n\ntwo\n--XY--\nepilogue\n";
  const auto parts = split_multipart(body, "XY");
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0], "Content-Type: text/plain\n\none --XY inside");
  EXPECT_EQ(parts[1], "\ntwo");
  EXPECT_TRUE(split_multipart(body, "absent").empty());
}

TEST(Mime, QuotedPrintableDecodesEscapesAndSoftBreaks) {
  EXPECT_EQ(decode_quoted_printable("caf=E9 =\nau lait a=3Db =\t\nend="), "caf\xE9 au lait a=b end");
  EXPECT_EQ(decode_quoted_printable("50% =ZZ off"), "50% =ZZ off");  // a stray '=' stays
  EXPECT_EQ(decode_quoted_printable("a_b", true), "a b");
}

TEST(Mime, Base64SkipsLineBreaksAndJunk) {
  EXPECT_EQ(decode_base64("SGVsbG8g\nd29y bGQ=\n"), "Hello world");
  EXPECT_EQ(decode_base64("4pyT"), "\xE2\x9C\x93");
}

TEST(Mime, Rfc2047SubjectsDecodeToUtf8) {
  EXPECT_EQ(decode_rfc2047("=?iso-8859-1?Q?caf=E9_au_lait?="), "caf\xC3\xA9 au lait");
  EXPECT_EQ(decode_rfc2047("=?UTF-8?B?4pyTIGRvbmU=?="), "\xE2\x9C\x93 done");
  EXPECT_EQ(decode_rfc2047("=?utf-8?q?ab?= =?utf-8?q?cd?="), "abcd");  // space between words dropped
  EXPECT_EQ(decode_rfc2047("Re: =?us-ascii?Q?hi?= there"), "Re: hi there");
  EXPECT_EQ(decode_rfc2047("=?big5?Q?=A4=A4?="), "\xE4\xB8\xAD");
  EXPECT_EQ(decode_rfc2047("=?broken"), "=?broken");
  EXPECT_EQ(decode_rfc2047("caf\xE9"), "caf\xC3\xA9");  // bare 8-bit byte
}

TEST(Html, TextKeepsContentAndDropsMarkupScriptsStylesComments) {
  const std::string text = html_to_text(
      "<html><head><title>T</title><style>p{color:red}</style></head><body>"
      "<p>Hello&nbsp;&amp; <b>world</b></p><!-- hidden --><script>var x = 1;</script>"
      "Line<br>Two &#233;&#x41; &lt;tag&gt; &bogus; a < b<table><tr><td>c1<td>c2</table></body></html>");
  EXPECT_EQ(normalize_email_text(text), "Hello & world\n\nLine\nTwo \xC3\xA9" "A <tag> &bogus; a < b\n\nc1 c2");
}

TEST(Html, AttributesWithAngleBracketsDoNotEndTheTag) {
  EXPECT_EQ(html_to_text("<a href=\"x>y\" title='1>2'>link</a> text"), "link text");
}

TEST(Html, MetaCharsetAndHtmlSniffing) {
  EXPECT_EQ(html_meta_charset("<META HTTP-EQUIV=\"Content-Type\" CONTENT=\"text/html; charset=euc-kr\">"), "euc-kr");
  EXPECT_EQ(html_meta_charset("<meta charset='big5'>"), "big5");
  EXPECT_EQ(html_meta_charset("<p>charset=utf-8</p>"), "");
  EXPECT_TRUE(looks_like_html("\n<HTML><BODY>hi</BODY></HTML>"));
  EXPECT_FALSE(looks_like_html("use <b> for bold"));
}

TEST(EmailText, WhitespaceRunsAndBlankLinesCollapse) {
  EXPECT_EQ(normalize_email_text("\n\n  a \t b  \r\n\n\n\nc\x01\xEF\xBB\xBF\n \n"), "a b\n\nc");
  EXPECT_EQ(normalize_email_text("x\xC2\xA0\xC2\xA0y"), "x y");  // no-break spaces too
  EXPECT_EQ(normalize_email_text("caf\xE9"), "caf\xC3\xA9");
}

TEST(EmailText, SinglePartLatin1QuotedPrintable) {
  const EmailText e = clean_email(
      "Subject: =?iso-8859-1?Q?R=E9sum=E9?=\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n\r\nCaf=E9   cr=E8me, =\r\nsoft break.\r\n\r\n\r\n\r\nBye\r\n");
  EXPECT_EQ(e.subject, "R\xC3\xA9sum\xC3\xA9");
  EXPECT_EQ(e.body, "Caf\xC3\xA9 cr\xC3\xA8me, soft break.\n\nBye");
}

TEST(EmailText, AlternativePrefersPlainOverHtml) {
  const EmailText e = clean_email(
      "Subject: hi\nContent-Type: multipart/alternative; boundary=\"b1\"\n\n"
      "--b1\nContent-Type: text/html\n\n<p>HTML version</p>\n"
      "--b1\nContent-Type: text/plain\n\nPlain version\n--b1--\n");
  EXPECT_EQ(e.body, "Plain version");
}

TEST(EmailText, HtmlOnlyMailFallsBackToHtmlTextAndDropsAttachments) {
  const EmailText e = clean_email(
      "Subject: offer\nContent-Type: multipart/mixed; boundary=outer\n\n"
      "--outer\nContent-Type: multipart/related; boundary=inner\n\n"
      "--inner\nContent-Type: text/html; charset=windows-1252\nContent-Transfer-Encoding: base64\n\n"
      "PGh0bWw+PGJvZHk+PGgxPkJpZyBPZmZlciE8L2gxPlNhdmUgkzUwJZQ8L2JvZHk+PC9odG1sPg==\n"
      "--inner\nContent-Type: image/gif\nContent-Transfer-Encoding: base64\n\nR0lGODlhAQABAAAAACw=\n"
      "--inner--\n--outer\nContent-Type: application/octet-stream\n\nbinary junk\n--outer--\n");
  // base64 of "<html><body><h1>Big Offer!</h1>Save \x93" "50%\x94</body></html>"
  EXPECT_EQ(e.body, "Big Offer!\n\nSave \xE2\x80\x9C" "50%\xE2\x80\x9D");
}

TEST(EmailText, MixedKeepsEveryPlainPartAndForwardedMessages) {
  const EmailText e = clean_email(
      "Content-Type: multipart/mixed; boundary=m\n\n--m\n\nFirst part.\n"
      "--m\nContent-Type: message/rfc822\n\nSubject: inner\nContent-Type: text/plain\n\nForwarded text.\n"
      "--m\nContent-Type: application/pgp-signature\n\n-----BEGIN PGP SIGNATURE-----\nabc\n--m--\n");
  EXPECT_EQ(e.subject, "");
  EXPECT_EQ(e.body, "First part.\n\nForwarded text.");
}

TEST(EmailText, PlainTextThatIsReallyHtmlIsStripped) {
  const EmailText e = clean_email("Subject: x\n\n<html><body><font size=3>Click <a href=x>here</a></font></body></html>\n");
  EXPECT_EQ(e.body, "Click here");
}

TEST(EmailText, InlinePgpArmourIsDropped) {
  const EmailText e = clean_email(
      "Subject: signed\n\n-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA1\n\nKeep this.\n"
      "-----BEGIN PGP SIGNATURE-----\nVersion: GnuPG\n\niD8DBQE9abc\n-----END PGP SIGNATURE-----\nAfter.\n");
  EXPECT_EQ(e.body, "Keep this.\n\nAfter.");
}

TEST(EmailText, UndeclaredPartCharsetFollowsTheSubjectsCharset) {
  const EmailText e = clean_email("Subject: =?big5?Q?=A4=A4?=\nContent-Transfer-Encoding: 8bit\n\n\xA4\xA4 text\n");
  EXPECT_EQ(e.subject, "\xE4\xB8\xAD");
  EXPECT_EQ(e.body, "\xE4\xB8\xAD text");
}

TEST(EmailText, BodyIsCappedOnACodePointBoundary) {
  std::string body;
  for (int i = 0; i < 3000; ++i) body += "\xC3\xA9";  // 6000 bytes of e-acute
  const EmailText e = clean_email("Subject: long\n\n" + body + "\n", 4001);
  EXPECT_EQ(e.body.size(), 4000u);
  EXPECT_TRUE(is_valid_utf8(e.body));
  EXPECT_EQ(clean_email("Subject: long\n\n" + body).body.size(), kMaxEmailBodyBytes);
}

TEST(EmailText, OutputIsValidUtf8ForArbitraryBytes) {
  // Deterministic junk: random bytes with MIME-looking fragments spliced in.
  uint64_t state = 0x9E3779B97F4A7C15ULL;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  const char* fragments[] = {"\nContent-Type: text/html; charset=big5\n", "=?utf-8?B?", "?=", "<p>", "&#",
                             "\n--", "Content-Transfer-Encoding: quoted-printable\n", "=E9", "\n\n"};
  for (int round = 0; round < 200; ++round) {
    std::string raw = "Subject: ";
    const int n = static_cast<int>(next() % 400);
    for (int i = 0; i < n; ++i) {
      if (next() % 8 == 0)
        raw += fragments[next() % (sizeof fragments / sizeof *fragments)];
      else
        raw.push_back(static_cast<char>(next() & 0xFF));
    }
    const EmailText e = clean_email(raw);
    ASSERT_TRUE(is_valid_utf8(e.subject)) << "round " << round;
    ASSERT_TRUE(is_valid_utf8(e.body)) << "round " << round;
  }
}

}  // namespace
}  // namespace qzo
