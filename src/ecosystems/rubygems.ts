import type { Ecosystem } from './model.js';

export const rubygems: Ecosystem = {
  osv: 'RubyGems',
  purlType: 'gem',
  scheme: 'rubygems',
  osvFeed: true,
  catalogers: ['gemspec', 'gemfile-lock'],
};
