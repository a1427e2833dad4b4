//! Typesetting with Typst: the template (built in, or the user's from
//! `[documents] templates`) is compiled against the document's data as
//! JSON, and written as PDF/A (PDF/A-3b for invoices, which carry their
//! e-invoice XML inside).
//!
//! The files a template sees are virtual: `/document.typ` (the template),
//! `/data.json`, `/factur-x.xml` for invoices, `/logo.<ext>` when one is
//! configured, and the template folder's other files. Nothing else on
//! the machine is reachable from a template.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;

/// The built-in template.
pub const TEMPLATE: &str = include_str!("../../templates/documents/document.typ");

/// The fonts every document can use (Lato, SIL Open Font License).
const FONTS: [&[u8]; 3] = [
    include_bytes!("../../assets/fonts/Lato-Regular.ttf"),
    include_bytes!("../../assets/fonts/Lato-Bold.ttf"),
    include_bytes!("../../assets/fonts/Lato-Italic.ttf"),
];

/// The standard library and the fonts, made once per process.
struct Shared {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let fonts: Vec<Font> = FONTS
            .iter()
            .flat_map(|data| Font::iter(Bytes::new(*data)))
            .collect();
        Shared {
            library: LazyHash::new(Library::default()),
            book: LazyHash::new(FontBook::from_fonts(&fonts)),
            fonts,
        }
    })
}

/// Why a document could not be typeset.
#[derive(Debug, thiserror::Error)]
pub enum TypesetError {
    /// The template is broken: where, and what is wrong.
    #[error("{file}:{line}: {message}")]
    Template {
        file: String,
        line: usize,
        message: String,
    },
    #[error("{0}")]
    Other(String),
}

/// The files of one compilation.
pub struct Files {
    /// The template's text and where it came from (for errors).
    pub template: (String, String),
    pub data: String,
    pub xml: Option<String>,
    pub logo: Option<PathBuf>,
    /// The user's template folder: other files the template may read.
    pub folder: Option<PathBuf>,
}

struct DocWorld {
    main: FileId,
    sources: HashMap<FileId, Source>,
    files: HashMap<FileId, Bytes>,
    folder: Option<PathBuf>,
    origin: String,
    today: Option<Datetime>,
}

fn id(path: &str) -> Option<FileId> {
    Some(RootedPath::new(VirtualRoot::Project, VirtualPath::new(path).ok()?).intern())
}

impl World for DocWorld {
    fn library(&self) -> &LazyHash<Library> {
        &shared().library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &shared().book
    }

    fn main(&self) -> FileId {
        self.main
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if let Some(s) = self.sources.get(&id) {
            return Ok(s.clone());
        }
        let bytes = self.file(id)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| FileError::InvalidUtf8)?;
        Ok(Source::new(id, text.to_string()))
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if let Some(b) = self.files.get(&id) {
            return Ok(b.clone());
        }
        if let Some(s) = self.sources.get(&id) {
            return Ok(Bytes::from_string(s.text().to_string()));
        }
        // A file of the user's template folder, and nothing outside it.
        let vpath = id.get().vpath();
        let not_found = || FileError::NotFound(PathBuf::from(vpath.get_with_slash()));
        let folder = self.folder.as_ref().ok_or_else(not_found)?;
        let path = vpath.realize(folder).map_err(|_| not_found())?;
        let data = std::fs::read(&path).map_err(|e| FileError::from_io(e, &path))?;
        Ok(Bytes::new(data))
    }

    fn font(&self, index: usize) -> Option<Font> {
        shared().fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<typst::foundations::Duration>) -> Option<Datetime> {
        self.today
    }
}

/// Compiles `files` into a PDF/A document (PDF/A-3b with the XML attached
/// when there is XML, else PDF/A-2b), dated `today`.
///
/// Fails with the template's file and line when the template is broken.
pub fn typeset(files: Files, today: chrono::NaiveDate) -> Result<Vec<u8>, TypesetError> {
    use chrono::Datelike;
    let (template, origin) = files.template;
    let main_id = id("/main.typ").ok_or_else(|| TypesetError::Other("bad path".into()))?;
    let template_id = id("/document.typ").ok_or_else(|| TypesetError::Other("bad path".into()))?;
    // The main file attaches the e-invoice, so a replaced template cannot
    // forget it, then includes the template.
    let mut main = String::new();
    if files.xml.is_some() {
        main.push_str(
            "#pdf.attach(\"/factur-x.xml\", relationship: \"alternative\", mime-type: \"text/xml\", description: \"Factur-X/ZUGFeRD e-invoice (EN 16931)\")\n",
        );
    }
    main.push_str("#include \"/document.typ\"\n");
    let mut sources = HashMap::new();
    sources.insert(main_id, Source::new(main_id, main));
    sources.insert(template_id, Source::new(template_id, template));
    let mut bytes = HashMap::new();
    if let Some(i) = id("/data.json") {
        bytes.insert(i, Bytes::from_string(files.data));
    }
    if let (Some(xml), Some(i)) = (files.xml.clone(), id("/factur-x.xml")) {
        bytes.insert(i, Bytes::from_string(xml));
    }
    if let Some(logo) = &files.logo {
        let data = std::fs::read(logo).map_err(|e| {
            TypesetError::Other(format!("company.logo: cannot read {}: {e}", logo.display()))
        })?;
        let ext = logo
            .extension()
            .map(|e| e.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        if let Some(i) = id(&format!("/logo.{ext}")) {
            bytes.insert(i, Bytes::new(data));
        }
    }
    let world = DocWorld {
        main: main_id,
        sources,
        files: bytes,
        folder: files.folder,
        origin,
        today: Datetime::from_ymd(today.year(), today.month() as u8, today.day() as u8),
    };
    let compiled = typst::compile::<PagedDocument>(&world);
    let document = compiled.output.map_err(|errors| world.error(&errors))?;
    let standard = if files.xml.is_some() {
        typst_pdf::PdfStandard::A_3b
    } else {
        typst_pdf::PdfStandard::A_2b
    };
    let options = typst_pdf::PdfOptions {
        standards: typst_pdf::PdfStandards::new(&[standard])
            .map_err(|e| TypesetError::Other(e.message().to_string()))?,
        creator: typst::foundations::Smart::Custom(Some(format!(
            "leadline {}",
            env!("CARGO_PKG_VERSION")
        ))),
        timestamp: world.today.map(typst_pdf::Timestamp::new_utc),
        ..Default::default()
    };
    let pdf = typst_pdf::pdf(&document, &options).map_err(|errors| world.error(&errors));
    // Typst remembers the results of its steps across compilations; what
    // was not used in the last few is dropped, so a long-running daemon
    // neither grows nor slows down.
    typst::comemo::evict(4);
    pdf
}

impl DocWorld {
    /// The first error, with the file and line it is at.
    fn error(&self, errors: &[SourceDiagnostic]) -> TypesetError {
        let Some(e) = errors.first() else {
            return TypesetError::Other("the template failed without saying why".into());
        };
        let mut message = e.message.to_string();
        for hint in e.hints.iter().take(1) {
            message.push_str(&format!(" (hint: {})", hint.v));
        }
        let Some(file) = e.span.id() else {
            return TypesetError::Other(message);
        };
        let line = self
            .source(file)
            .ok()
            .and_then(|s| {
                let range = typst::WorldExt::range(self, e.span)?;
                s.lines().byte_to_line(range.start)
            })
            .map_or(0, |l| l + 1);
        let name = file.get().vpath().get_with_slash().to_string();
        let file = if name == "/document.typ" {
            self.origin.clone()
        } else {
            name
        };
        TypesetError::Template {
            file,
            line,
            message,
        }
    }
}

/// The template to use: `document.typ` of `folder` when there is one,
/// else the built-in; with where it came from.
///
/// Fails when the user's template cannot be read.
pub fn template(folder: Option<&Path>) -> Result<(String, String), TypesetError> {
    match folder {
        Some(dir) => {
            let path = dir.join("document.typ");
            match std::fs::read_to_string(&path) {
                Ok(text) => Ok((text, path.display().to_string())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Ok((TEMPLATE.to_string(), "(built-in) document.typ".to_string()))
                }
                Err(e) => Err(TypesetError::Other(format!(
                    "cannot read the template {}: {e}",
                    path.display()
                ))),
            }
        }
        None => Ok((TEMPLATE.to_string(), "(built-in) document.typ".to_string())),
    }
}
