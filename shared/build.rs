//! Takes the two files the API reference at `/v1/docs` needs (Swagger UI's bundle and stylesheet) out of the
//! Swagger UI release that `utoipa-swagger-ui-vendored` ships, gzipped, so a function carries about 0.5 MB
//! of it rather than the whole 11 MB `dist/` folder with its source maps; and gzips the committed
//! `openapi.json`, which is served as it is (the drift test keeps it equal to what the code generates), so
//! no function carries the code that generates it.

use std::io::{Read, Write};
use std::path::PathBuf;

const FILES: [&str; 2] = ["swagger-ui-bundle.js", "swagger-ui.css"];

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let release = std::io::Cursor::new(utoipa_swagger_ui_vendored::SWAGGER_UI_VENDORED);
    let mut archive = zip::ZipArchive::new(release).expect("the vendored Swagger UI is a zip archive");
    for file in FILES {
        let name = archive
            .file_names()
            .filter_map(Result::ok)
            .find(|name| name.ends_with(&format!("/dist/{file}")))
            .unwrap_or_else(|| panic!("the vendored Swagger UI has no dist/{file}"))
            .into_owned();
        let mut bytes = Vec::new();
        archive.by_name(&name).and_then(|mut entry| Ok(entry.read_to_end(&mut bytes)?)).expect("read from the zip");
        std::fs::write(out.join(format!("{file}.gz")), gzipped(&bytes)).expect("write OUT_DIR");
    }
    let document = std::fs::read("../openapi.json").expect("the committed openapi.json beside the workspace");
    std::fs::write(out.join("openapi.json.gz"), gzipped(&document)).expect("write OUT_DIR");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=../openapi.json");
}

fn gzipped(bytes: &[u8]) -> Vec<u8> {
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gzip.write_all(bytes).expect("gzip in memory");
    gzip.finish().expect("gzip in memory")
}
