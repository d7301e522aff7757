// The login page: the only thing an unauthenticated browser is shown.
"use strict";
document.getElementById("login").addEventListener("submit", async (e) => {
  e.preventDefault();
  const error = document.getElementById("error");
  error.textContent = "";
  try {
    const r = await fetch("/api/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        name: document.getElementById("name").value,
        password: document.getElementById("password").value,
      }),
    });
    const body = await r.json();
    if (!r.ok) throw new Error(body.error || r.statusText);
    location.href = "/";
  } catch (err) {
    error.textContent = err.message;
  }
});
