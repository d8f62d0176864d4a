//! Tag lists, page by page as the registry sends them (`Link` pagination),
//! so a caller can print each page as it arrives and hold only one.

use ureq::http::Method;

use super::Client;
use crate::reference::Image;
use crate::Error;

/// A registry may send at most this many pages for one list.
const MAX_TAG_PAGES: usize = 1000;

/// Longest page read.
const MAX_PAGE_BYTES: u64 = 32 << 20;

/// The pages of `image`'s tag list, each fetched when asked for: see
/// [`Client::tag_pages`]. After an error it yields nothing more.
#[derive(Debug)]
pub struct TagPages<'a> {
    client: &'a Client,
    image: &'a Image,
    /// The next page's path under the repository; `None` when done.
    next: Option<String>,
    fetched: usize,
}

impl<'a> TagPages<'a> {
    pub(super) fn new(client: &'a Client, image: &'a Image) -> Self {
        TagPages {
            client,
            image,
            next: Some("tags/list?n=1000".into()),
            fetched: 0,
        }
    }

    fn fetch(&mut self, path: &str) -> Result<Vec<String>, Error> {
        #[derive(serde::Deserialize)]
        struct TagList {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let (client, image) = (self.client, self.image);
        let failed = |detail: String| Error::Registry {
            registry: image.registry.clone(),
            context: format!("list tags of {}", image.name),
            detail,
        };
        if self.fetched == MAX_TAG_PAGES {
            return Err(failed(format!("more than {MAX_TAG_PAGES} pages of tags")));
        }
        self.fetched += 1;
        let request = client
            .request(Method::GET, image, path, &image.name)
            .limit(MAX_PAGE_BYTES);
        let reply = client.read(
            image,
            request,
            "repository".into(),
            format!("list tags {}", image.name),
        )?;
        let page: TagList = serde_json::from_slice(&reply.body)
            .map_err(|e| failed(format!("the tag list is not valid JSON: {e}")))?;
        self.next = reply
            .header("link")
            .and_then(|link| next_link(link, &image.repository));
        Ok(page.tags.unwrap_or_default())
    }
}

impl Iterator for TagPages<'_> {
    type Item = Result<Vec<String>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let path = self.next.take()?;
        Some(self.fetch(&path))
    }
}

/// The path (relative to the repository) of `<url>; rel="next"` in a `Link`
/// header. Only a link to the same repository's tag list on the same host is
/// followed: an absolute one could send our `Authorization` elsewhere.
pub(super) fn next_link(link: &str, repository: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        if !params.contains("rel=\"next\"") {
            return None;
        }
        let url = url.trim().trim_start_matches('<').trim_end_matches('>');
        url.strip_prefix("/v2/")?
            .strip_prefix(repository)?
            .strip_prefix("/tags/list")
            .map(|query| format!("tags/list{query}"))
    })
}
