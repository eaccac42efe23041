import type { Ecosystem } from './model.js';

export const nuget: Ecosystem = {
  osv: 'NuGet',
  purlType: 'nuget',
  scheme: 'nuget',
  normalizeName: (name) => name.toLowerCase(),
  osvFeed: true,
  catalogers: ['dotnet-deps', 'nuget-packages-lock', 'nuget-packages-config', 'nuget-packages-props'],
};
