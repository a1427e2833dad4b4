//! The XMP metadata that says a PDF/A-3 is a Factur-X/ZUGFeRD invoice:
//! the `fx` extension schema and its four properties (document type and
//! file name, version, conformance level EN 16931).
//!
//! Typst writes the PDF/A-3 with the XML attached and its own XMP; this
//! adds the Factur-X part by an incremental update (ISO 32000-1, 7.5.6): a
//! new version of the metadata stream appended with its own cross-reference
//! section, the bytes before it untouched. Written by hand: it is forty
//! lines, and a PDF library would rewrite the whole file.

/// The Factur-X schema and properties, for inside `rdf:RDF`.
const FACTURX: &str = r#"<rdf:Description rdf:about="" xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/" xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#"><pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource"><pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema><pdfaSchema:namespaceURI>urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#</pdfaSchema:namespaceURI><pdfaSchema:prefix>fx</pdfaSchema:prefix><pdfaSchema:property><rdf:Seq><rdf:li rdf:parseType="Resource"><pdfaProperty:name>DocumentFileName</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>The name of the embedded XML document</pdfaProperty:description></rdf:li><rdf:li rdf:parseType="Resource"><pdfaProperty:name>DocumentType</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>The type of the hybrid document in capital letters, e.g. INVOICE or ORDER</pdfaProperty:description></rdf:li><rdf:li rdf:parseType="Resource"><pdfaProperty:name>Version</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>The actual version of the standard applying to the embedded XML document</pdfaProperty:description></rdf:li><rdf:li rdf:parseType="Resource"><pdfaProperty:name>ConformanceLevel</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>The conformance level of the embedded XML document</pdfaProperty:description></rdf:li></rdf:Seq></pdfaSchema:property></rdf:li></rdf:Bag></pdfaExtension:schemas></rdf:Description><rdf:Description rdf:about="" xmlns:fx="urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"><fx:DocumentType>INVOICE</fx:DocumentType><fx:DocumentFileName>factur-x.xml</fx:DocumentFileName><fx:Version>1.0</fx:Version><fx:ConformanceLevel>EN 16931</fx:ConformanceLevel></rdf:Description>"#;

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

/// The number right after `key` (`/Metadata 12 0 R` -> 12) in `dict`.
fn number_after(dict: &[u8], key: &[u8]) -> Option<u64> {
    let at = find(dict, key)? + key.len();
    let rest = &dict[at..];
    let start = rest.iter().position(|b| b.is_ascii_digit())?;
    let digits: String = rest[start..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .map(|b| *b as char)
        .collect();
    digits.parse().ok()
}

/// `pdf` with the Factur-X XMP added.
///
/// Fails when the PDF is not laid out as Typst writes it (no metadata
/// stream, no trailer).
pub fn facturx(pdf: &[u8]) -> Result<Vec<u8>, String> {
    let broken = |what: &str| format!("the PDF has no {what}; cannot mark it as Factur-X");
    // The metadata stream's object, and its XMP.
    let meta_ref = find(pdf, b"/Metadata ").ok_or_else(|| broken("metadata"))?;
    let meta_obj =
        number_after(&pdf[meta_ref..], b"/Metadata").ok_or_else(|| broken("metadata"))?;
    let header = format!("\n{meta_obj} 0 obj");
    let obj_at = find(pdf, header.as_bytes()).ok_or_else(|| broken("metadata object"))?;
    let stream_at =
        obj_at + find(&pdf[obj_at..], b"stream").ok_or_else(|| broken("metadata stream"))?;
    let body_start = stream_at
        + b"stream".len()
        + pdf[stream_at + 6..]
            .iter()
            .take_while(|b| **b == b'\r' || **b == b'\n')
            .count();
    let body_end = body_start
        + find(&pdf[body_start..], b"endstream").ok_or_else(|| broken("metadata stream end"))?;
    let xmp = String::from_utf8_lossy(&pdf[body_start..body_end]).to_string();
    let close = xmp
        .rfind("</rdf:RDF>")
        .ok_or_else(|| broken("XMP packet"))?;
    let new_xmp = format!("{}{FACTURX}{}", &xmp[..close], &xmp[close..]);
    let new_xmp = new_xmp.trim_end().to_string();

    // The last trailer: its size, root, info and id carry over.
    let trailer_at = rfind(pdf, b"trailer").ok_or_else(|| broken("trailer"))?;
    let trailer = &pdf[trailer_at..];
    let size = number_after(trailer, b"/Size").ok_or_else(|| broken("trailer size"))?;
    let root = number_after(trailer, b"/Root").ok_or_else(|| broken("trailer root"))?;
    let info = number_after(trailer, b"/Info");
    let id = find(trailer, b"/ID").and_then(|i| {
        let rest = &trailer[i..];
        let end = find(rest, b"]")?;
        Some(String::from_utf8_lossy(&rest[..=end]).to_string())
    });
    let prev_at = rfind(pdf, b"startxref").ok_or_else(|| broken("startxref"))?;
    let prev: u64 = String::from_utf8_lossy(&pdf[prev_at + 9..])
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| broken("startxref offset"))?;

    let mut out = pdf.to_vec();
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    let obj_offset = out.len();
    out.extend_from_slice(
        format!(
            "{meta_obj} 0 obj\n<< /Type /Metadata /Subtype /XML /Length {} >>\nstream\n",
            new_xmp.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(new_xmp.as_bytes());
    out.extend_from_slice(b"\nendstream\nendobj\n");
    let xref_offset = out.len();
    let mut trailer = format!("/Size {size} /Root {root} 0 R /Prev {prev}");
    if let Some(info) = info {
        trailer.push_str(&format!(" /Info {info} 0 R"));
    }
    if let Some(id) = id {
        trailer.push_str(&format!(" {id}"));
    }
    out.extend_from_slice(
        format!(
            "xref\n0 1\n0000000000 65535 f \n{meta_obj} 1\n{obj_offset:010} 00000 n \ntrailer\n<< {trailer} >>\nstartxref\n{xref_offset}\n%%EOF\n"
        )
        .as_bytes(),
    );
    Ok(out)
}
