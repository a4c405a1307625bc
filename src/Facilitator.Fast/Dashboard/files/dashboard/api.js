// The service's API as the page calls it: the credential kept in sessionStorage (never in a URL), sent as a bearer
// token when it is a JWT and in the service's API key header otherwise, as the service itself tells them apart.

const storageKey = "facilitator.fast.credential";

export class ApiClient {
  constructor(settings) {
    this.settings = settings;
  }

  get credential() {
    return sessionStorage.getItem(storageKey);
  }

  set credential(value) {
    if (value) {
      sessionStorage.setItem(storageKey, value);
    } else {
      sessionStorage.removeItem(storageKey);
    }
  }

  headers() {
    const headers = { Accept: "application/json" };
    const credential = this.credential;
    if (credential) {
      if (isJwt(credential)) {
        headers.Authorization = "Bearer " + credential;
      } else {
        headers[this.settings.apiKeyHeader] = credential;
      }
    }
    return headers;
  }

  /** GET path; resolves to the parsed body, or throws an ApiError with the status and the service's message. */
  async get(path) {
    const response = await fetch(path, { headers: this.headers(), credentials: "omit", cache: "no-store" });
    if (!response.ok) {
      let message = response.statusText;
      try {
        const body = await response.json();
        message = body?.error?.message ?? message;
      } catch {
        // not the service's error format
      }
      throw new ApiError(response.status, message);
    }
    return response.json();
  }
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function isJwt(credential) {
  return credential.startsWith("eyJ") && credential.split(".").length === 3;
}

/** The page's settings from the service: the API key header's name and where the event stream is. */
export async function loadSettings() {
  const response = await fetch("/dashboard/settings.json", { credentials: "omit", cache: "no-store" });
  if (!response.ok) {
    throw new ApiError(response.status, "the page's settings could not be read");
  }
  return response.json();
}
