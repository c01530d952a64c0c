//! Multipart upload with progress: `XMLHttpRequest` (fetch cannot report upload progress).

use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{FormData, HtmlFormElement, ProgressEvent, XmlHttpRequest};

/// POSTs the form to `/api/datasets`, updating `progress` (0..1) and calling `done(status,
/// body)` at the end (status 0 = network failure).
pub fn send(form: &HtmlFormElement, progress: RwSignal<Option<f64>>, done: impl Fn(u16, String) + 'static) {
    let Ok(data) = FormData::new_with_form(form) else { return };
    let Ok(xhr) = XmlHttpRequest::new() else { return };
    if xhr.open("POST", "/api/datasets").is_err() {
        return;
    }
    progress.set(Some(0.0));
    if let Ok(upload) = xhr.upload() {
        let on_progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |ev: ProgressEvent| {
            if ev.length_computable() && ev.total() > 0.0 {
                progress.set(Some(ev.loaded() / ev.total()));
            }
        });
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
        on_progress.forget();
    }
    let request = xhr.clone();
    let on_end = Closure::<dyn FnMut()>::new(move || {
        let body = request.response_text().ok().flatten().unwrap_or_default();
        done(request.status().unwrap_or(0), body);
    });
    xhr.set_onloadend(Some(on_end.as_ref().unchecked_ref()));
    on_end.forget();
    let _ = xhr.send_with_opt_form_data(Some(&data));
}
